package syncml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// DefaultMaxMessageSize is the size cap, in bytes, that Decode applies
// before parsing. It is larger than any MaxMsgSize a DM 1.2 peer announces
// in practice.
const DefaultMaxMessageSize = 1 << 20

// maxElementDepth caps XML element nesting, including markup inside Data
// (a TNDS tree, for example). maxCommandDepth caps nested Atomic and
// Sequence commands: DM 1.2 allows one level, so 8 is generous.
const (
	maxElementDepth = 128
	maxCommandDepth = 8
)

// element is one parsed XML element. Names are local names: Decode matches
// elements by local name and ignores namespaces (see ADR 0010).
type element struct {
	name string
	// pos is the 1-based position among siblings of the same name.
	pos      int
	space    string
	line     int
	text     strings.Builder
	children []*element
	// raw is the inner XML exactly as it appeared in the input. It is kept
	// only for Data elements, which may carry markup such as a TNDS tree.
	raw string
}

// value returns the character content with CDATA unwrapped and comments
// dropped.
func (e *element) value() string { return e.text.String() }

// trimmed returns the character content without leading and trailing XML
// whitespace.
func (e *element) trimmed() string { return trimXMLSpace(e.text.String()) }

// child returns the first child element with the given local name, or nil.
func (e *element) child(name string) *element {
	for _, c := range e.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func trimXMLSpace(s string) string { return strings.Trim(s, " \t\r\n") }

// parseTree parses data into an element tree. It rejects DOCTYPE internal
// subsets (so entity declarations), non-UTF-8 input and nesting deeper than
// maxElementDepth. Errors name the line and the element path.
func parseTree(data []byte) (*element, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("decode: line %d: input is not valid UTF-8",
			invalidUTF8Line(data))
	}

	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true

	var root *element
	var stack []*element
	var rawStart []int64
	for {
		before := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, syntaxError(stack, err)
		}

		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, fmt.Errorf("decode: line %d: second root element <%s>",
					line(d), t.Name.Local)
			}
			if len(stack) >= maxElementDepth {
				return nil, fmt.Errorf("decode %s: line %d: elements nested deeper than %d",
					stackPath(stack), line(d), maxElementDepth)
			}
			e := &element{name: t.Name.Local, space: t.Name.Space, pos: 1, line: line(d)}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				for _, c := range parent.children {
					if c.name == e.name {
						e.pos++
					}
				}
				parent.children = append(parent.children, e)
			} else {
				root = e
			}
			stack = append(stack, e)
			rawStart = append(rawStart, d.InputOffset())

		case xml.EndElement:
			e := stack[len(stack)-1]
			if e.name == "Data" && len(e.children) > 0 {
				e.raw = string(data[rawStart[len(rawStart)-1]:before])
			}
			stack = stack[:len(stack)-1]
			rawStart = rawStart[:len(rawStart)-1]

		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.Trim(t, " \t\r\n")) > 0 {
					return nil, fmt.Errorf("decode: line %d: text outside the root element",
						line(d))
				}
				continue
			}
			stack[len(stack)-1].text.Write(t)

		case xml.Directive:
			if root != nil {
				return nil, fmt.Errorf("decode %s: line %d: declaration after the root element starts",
					stackPath(stack), line(d))
			}
			if err := checkDirective(t); err != nil {
				return nil, fmt.Errorf("decode: line %d: %w", line(d), err)
			}
		}
	}
	if root == nil {
		return nil, errors.New("decode: no root element")
	}
	return root, nil
}

// checkDirective accepts a DOCTYPE that only names an external DTD, as DM 1.1
// messages carry, and rejects internal subsets and any other declaration.
// encoding/xml never loads an external DTD, so the named DTD is ignored.
func checkDirective(dir xml.Directive) error {
	s := string(dir)
	if !strings.HasPrefix(s, "DOCTYPE") {
		return fmt.Errorf("declaration <!%.20s...> is not allowed", s)
	}
	if strings.ContainsAny(s, "[<") {
		return errors.New("DOCTYPE with an internal subset (entity declarations) is not allowed")
	}
	return nil
}

func syntaxError(stack []*element, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		msg := se.Msg
		if strings.HasPrefix(msg, "invalid character entity") {
			msg += `: a bare "&" must be written as "&amp;" or inside CDATA`
		}
		return fmt.Errorf("decode %s: line %d: %s", stackPath(stack), se.Line, msg)
	}
	return fmt.Errorf("decode %s: %w", stackPath(stack), err)
}

func line(d *xml.Decoder) int {
	l, _ := d.InputPos()
	return l
}

// stackPath renders the open elements below the root as a path such as
// "SyncBody/Replace[2]/Item[1]/Data".
func stackPath(stack []*element) string {
	if len(stack) <= 1 {
		return "SyncML"
	}
	path := ""
	for _, e := range stack[1:] {
		path = childPath(path, e.name, e.pos)
	}
	return path
}

// singletonNames lists elements that the DTD allows at most once in their
// parent, so paths show them without a position.
var singletonNames = map[string]bool{
	"SyncHdr": true, "SyncBody": true, "VerDTD": true, "VerProto": true,
	"SessionID": true, "MsgID": true, "Target": true, "Source": true,
	"LocURI": true, "LocName": true, "RespURI": true, "NoResp": true,
	"Cred": true, "Meta": true, "Data": true, "CmdID": true, "MsgRef": true,
	"CmdRef": true, "Cmd": true, "Chal": true, "Correlator": true,
	"Final": true, "MoreData": true, "Format": true, "Type": true,
	"Mark": true, "Size": true, "NextNonce": true, "MaxMsgSize": true,
	"MaxObjSize": true, "Version": true,
}

// childPath appends name to path, with "[pos]" for elements that may repeat.
func childPath(path, name string, pos int) string {
	if !singletonNames[name] {
		name = fmt.Sprintf("%s[%d]", name, pos)
	}
	if path == "" {
		return name
	}
	return path + "/" + name
}

func invalidUTF8Line(data []byte) int {
	n := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size == 1 {
			return n
		}
		if r == '\n' {
			n++
		}
		data = data[size:]
	}
	return n
}
