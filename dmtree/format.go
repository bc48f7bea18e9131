package dmtree

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/virmo/virmo/syncml"
)

// MIME types of the TNDS tree serialisation. Add and Replace accept XML
// TNDS data; WBXML TNDS data gets 415.
const (
	TypeTNDSXML   = "application/vnd.syncml.dmtnds+xml"
	TypeTNDSWBXML = "application/vnd.syncml.dmtnds+wbxml"
)

// tstampLayout is the ISO 8601 basic UTC form of the TStamp property.
const tstampLayout = "20060102T150405Z"

// checkValue returns a 415 *StatusError unless value is a valid value of
// format: int a 32-bit signed decimal, bool "true" or "false", float an XML
// Schema float, date an ISO 8601 calendar date with century, time an ISO
// 8601 time of day, null empty, chr and xml UTF-8, bin anything. Interior
// nodes and unknown formats never take a value.
func checkValue(format Format, value []byte) error {
	s := string(value)
	ok := false
	switch format {
	case FormatBin:
		ok = true
	case FormatChr, FormatXML:
		ok = utf8.ValidString(s)
	case FormatNull:
		ok = s == ""
	case FormatInt:
		_, err := strconv.ParseInt(s, 10, 32)
		ok = err == nil
	case FormatBool:
		ok = s == "true" || s == "false"
	case FormatFloat:
		ok = validFloat(s)
	case FormatDate:
		ok = parsesAs(s, "2006-01-02", "20060102")
	case FormatTime:
		ok = parsesAs(s, "15:04:05", "150405", "15:04:05Z07:00", "150405Z0700")
	}
	if !ok {
		return Errorf(415, "value %q is not a valid %s value", clip(s), format)
	}
	return nil
}

// validFloat accepts decimal floats in 32-bit range and the XML Schema
// special values INF, -INF and NaN, but not the hexadecimal, underscore
// and "Infinity" spellings strconv also reads.
func validFloat(s string) bool {
	switch s {
	case "INF", "-INF", "NaN":
		return true
	}
	if strings.ContainsAny(s, "xX_") {
		return false
	}
	f, err := strconv.ParseFloat(s, 32)
	return err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

func parsesAs(s string, layouts ...string) bool {
	for _, layout := range layouts {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// itemMeta returns the Meta that applies to an item: its own, else the
// command's.
func itemMeta(item syncml.Item, cmdMeta *syncml.Meta) *syncml.Meta {
	if item.Meta != nil {
		return item.Meta
	}
	if cmdMeta != nil {
		return cmdMeta
	}
	return &syncml.Meta{}
}

// decodeData returns the node format and the raw value an item carries. An
// absent Meta Format means chr. A b64 value is decoded here, exactly once,
// and becomes bin; ASCII whitespace inside it (line breaks of a wrapped
// XML text) is dropped first. Bad base64 gives 415. A nil Data is the
// empty value.
func decodeData(meta *syncml.Meta, data *syncml.Data) (Format, []byte, error) {
	format := Format(meta.Format)
	if format == "" {
		format = FormatChr
	}
	var raw string
	if data != nil {
		raw = data.Value
	}
	if format != FormatB64 {
		return format, []byte(raw), nil
	}

	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, raw)
	value, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return "", nil, Errorf(415, "invalid b64 data: %v", err)
	}
	return FormatBin, value, nil
}

// valueItem returns the Results item for the node n read at target.
func valueItem(target string, n *node) syncml.Item {
	item := syncml.Item{Source: &syncml.Locator{LocURI: target}}
	if n.interior() {
		item.Meta = &syncml.Meta{Format: string(FormatNode)}
		item.Data = syncml.NewData(strings.Join(sortedNames(n), "/"))
		return item
	}

	item.Meta = &syncml.Meta{Format: string(n.format), Type: n.typ}
	if n.format == FormatBin {
		item.Meta.Format = string(FormatB64)
		item.Data = syncml.NewData(base64.StdEncoding.EncodeToString(n.value))
		return item
	}
	item.Data = syncml.NewData(string(n.value))
	return item
}
