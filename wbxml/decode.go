package wbxml

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Limits that Decode enforces.
const (
	// MaxDocumentSize is the largest input, in bytes, that Decode reads. It
	// matches the XML decoder's cap in package syncml.
	MaxDocumentSize = 1 << 20
	// MaxDepth is the deepest element nesting that Decode accepts.
	MaxDepth = 128
)

// Decode parses a WBXML 1.1, 1.2 or 1.3 document that uses the SyncML DM
// code pages 0 (SyncML), 1 (MetInf) and 2 (DM DDF).
//
// Decode reads the public identifier in either form (a number, or 0 and a
// string-table index), LITERAL tags (the name comes from the string table),
// inline strings, string-table references, character entities and opaque
// data. Attribute lists are rejected with ErrUnsupportedToken because the
// SyncML DM documents define no attributes, and so are PI and EXT tokens.
//
// Every failure is a *DecodeError with the byte offset. It wraps
// ErrUnknownToken for a tag token the code page lacks, ErrUnknownPage for a
// switch to a page without a table, ErrUnsupportedCharset for a charset
// other than UTF-8 and ErrTruncated for input that ends early. Other
// failures are a multi-byte integer longer than 5 bytes or above 32 bits, a
// string-table index or length past the end, an inline string without its
// NUL terminator, nesting deeper than MaxDepth, input larger than
// MaxDocumentSize, and bytes after the root element. Decode never panics.
func Decode(b []byte) (*Document, error) {
	if len(b) > MaxDocumentSize {
		return nil, &DecodeError{Offset: 0, Msg: fmt.Sprintf(
			"document is %d bytes, larger than the %d-byte limit", len(b), MaxDocumentSize)}
	}
	d := &decoder{buf: b}
	doc, err := d.header()
	if err != nil {
		return nil, err
	}

	root, err := d.body()
	if err != nil {
		return nil, err
	}
	doc.Root = root
	return doc, nil
}

type decoder struct {
	buf   []byte
	pos   int
	page  byte
	table []byte
}

func (d *decoder) fail(offset int, cause error, format string, args ...any) *DecodeError {
	return &DecodeError{Offset: offset, Msg: fmt.Sprintf(format, args...), Err: cause}
}

func (d *decoder) byte(what string) (byte, error) {
	if d.pos >= len(d.buf) {
		return 0, d.fail(d.pos, ErrTruncated, "input ends before the %s", what)
	}
	c := d.buf[d.pos]
	d.pos++
	return c, nil
}

// uint32 reads a multi-byte unsigned integer (mb_u_int32): big-endian
// groups of 7 bits, the high bit set on every byte but the last, at most 5
// bytes and at most 32 bits.
func (d *decoder) uint32(what string) (uint32, error) {
	start := d.pos
	var v uint64
	for i := 0; i < 5; i++ {
		c, err := d.byte(what)
		if err != nil {
			return 0, err
		}
		v = v<<7 | uint64(c&0x7F)
		if c&0x80 == 0 {
			if v > 0xFFFFFFFF {
				return 0, d.fail(start, nil, "%s overflows 32 bits", what)
			}
			return uint32(v), nil
		}
	}
	return 0, d.fail(start, nil, "%s is longer than 5 bytes", what)
}

func (d *decoder) header() (*Document, error) {
	doc := &Document{}
	version, err := d.byte("version")
	if err != nil {
		return nil, err
	}
	if version < 0x01 || version > 0x03 {
		return nil, d.fail(0, nil, "version byte 0x%02X is not WBXML 1.1, 1.2 or 1.3", version)
	}
	doc.Version = version

	if doc.PublicID, err = d.uint32("public identifier"); err != nil {
		return nil, err
	}
	publicIndex, publicIndexAt := uint32(0), 0
	if doc.PublicID == 0 {
		publicIndexAt = d.pos
		if publicIndex, err = d.uint32("public identifier index"); err != nil {
			return nil, err
		}
	}

	charsetAt := d.pos
	if doc.Charset, err = d.uint32("charset"); err != nil {
		return nil, err
	}
	if doc.Charset != CharsetUTF8 {
		return nil, d.fail(charsetAt, ErrUnsupportedCharset,
			"charset MIBenum %d is not supported, only UTF-8 (106) is", doc.Charset)
	}

	lengthAt := d.pos
	length, err := d.uint32("string table length")
	if err != nil {
		return nil, err
	}
	if uint64(length) > uint64(len(d.buf)-d.pos) {
		return nil, d.fail(lengthAt, ErrTruncated,
			"string table length %d exceeds the %d bytes left", length, len(d.buf)-d.pos)
	}
	d.table = d.buf[d.pos : d.pos+int(length)]
	doc.StringTable = d.table
	d.pos += int(length)

	if doc.PublicID == 0 {
		s, err := d.tableString(publicIndexAt, publicIndex)
		if err != nil {
			return nil, err
		}
		doc.PublicIDString = string(s)
	}
	return doc, nil
}

// tableString returns the string at index in the string table, without its
// NUL terminator. The last entry may end at the end of the table without a
// terminator, because Motorola's DM encoder writes the public identifier
// FPI that way; the table length still bounds it.
func (d *decoder) tableString(at int, index uint32) ([]byte, error) {
	if uint64(index) >= uint64(len(d.table)) {
		return nil, d.fail(at, nil, "string table index %d is past the %d-byte table",
			index, len(d.table))
	}
	rest := d.table[index:]
	if end := bytes.IndexByte(rest, 0); end >= 0 {
		return rest[:end], nil
	}
	return rest, nil
}

// body reads the root element and checks that nothing follows it. WBXML
// allows PIs around the root, but this package rejects every PI.
func (d *decoder) body() (*Element, error) {
	if err := d.skipSwitches(); err != nil {
		return nil, err
	}
	root, err := d.element(1)
	if err != nil {
		return nil, err
	}
	if d.pos != len(d.buf) {
		return nil, d.fail(d.pos, nil, "%d bytes follow the root element", len(d.buf)-d.pos)
	}
	return root, nil
}

// skipSwitches applies any SWITCH_PAGE tokens at the current position.
func (d *decoder) skipSwitches() error {
	for d.pos < len(d.buf) && d.buf[d.pos] == tokenSwitchPage {
		d.pos++
		at := d.pos
		page, err := d.byte("code page number")
		if err != nil {
			return err
		}
		if int(page) >= len(pageTags) {
			return d.fail(at, ErrUnknownPage, "code page %d has no tag table", page)
		}
		d.page = page
	}
	return nil
}

// element reads one element whose tag token is at the current position.
func (d *decoder) element(depth int) (*Element, error) {
	at := d.pos
	if depth > MaxDepth {
		return nil, d.fail(at, nil, "elements nested deeper than %d", MaxDepth)
	}
	token, err := d.byte("element")
	if err != nil {
		return nil, err
	}

	e := &Element{Page: d.page}
	switch token {
	case tokenLiteral, tokenLiteralC, tokenLiteralA, tokenLiteralAC:
		index, err := d.uint32("literal tag name index")
		if err != nil {
			return nil, err
		}
		name, err := d.tableString(at+1, index)
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(name) || len(name) == 0 {
			return nil, d.fail(at, nil, "literal tag name at index %d is empty or not UTF-8", index)
		}
		e.Name, e.Literal = string(name), true
	default:
		if err := d.checkTagToken(at, token); err != nil {
			return nil, err
		}
		name, ok := pageTags[d.page][token&tagMask]
		if !ok {
			return nil, d.fail(at, ErrUnknownToken,
				"tag token 0x%02X is not defined on code page %d", token&tagMask, d.page)
		}
		e.Name = name
	}

	if token&tagHasAttributes != 0 {
		return nil, d.fail(at, ErrUnsupportedToken,
			"element %s has attributes, which SyncML DM does not define", e.Name)
	}
	if token&tagHasContent == 0 {
		return e, nil
	}
	if err := d.content(e, depth); err != nil {
		return nil, err
	}
	return e, nil
}

// checkTagToken rejects global tokens that cannot start an element.
func (d *decoder) checkTagToken(at int, token byte) error {
	switch {
	case token == tokenEnd || token == tokenStrI || token == tokenStrT ||
		token == tokenEntity || token == tokenOpaque || token == tokenSwitchPage:
		return d.fail(at, nil, "token 0x%02X where an element was expected", token)
	case token == tokenPI:
		return d.fail(at, ErrUnsupportedToken, "processing instruction (PI) is not supported")
	case isExtToken(token):
		return d.fail(at, ErrUnsupportedToken, "extension token 0x%02X is not supported", token)
	}
	return nil
}

func isExtToken(token byte) bool {
	return (token >= tokenExtI0 && token <= tokenExtI2) ||
		(token >= tokenExtT0 && token <= tokenExtT2) ||
		(token >= tokenExt0 && token <= tokenExt2)
}

// content reads an element's content up to and including its END token.
func (d *decoder) content(e *Element, depth int) error {
	for {
		if err := d.skipSwitches(); err != nil {
			return err
		}
		at := d.pos
		if d.pos >= len(d.buf) {
			return d.fail(at, ErrTruncated, "input ends inside element %s", e.Name)
		}

		switch d.buf[d.pos] {
		case tokenEnd:
			d.pos++
			return nil
		case tokenStrI:
			d.pos++
			rest := d.buf[d.pos:]
			end := bytes.IndexByte(rest, 0)
			if end < 0 {
				return d.fail(at, ErrTruncated, "inline string in %s has no NUL terminator", e.Name)
			}
			e.Text = append(e.Text, rest[:end]...)
			d.pos += end + 1
		case tokenStrT:
			d.pos++
			index, err := d.uint32("string table reference")
			if err != nil {
				return err
			}
			s, err := d.tableString(at+1, index)
			if err != nil {
				return err
			}
			e.Text = append(e.Text, s...)
		case tokenEntity:
			d.pos++
			code, err := d.uint32("entity")
			if err != nil {
				return err
			}
			if code > utf8.MaxRune || (code >= 0xD800 && code <= 0xDFFF) {
				return d.fail(at, nil, "entity %d is not a Unicode character", code)
			}
			e.Text = utf8.AppendRune(e.Text, rune(code))
		case tokenOpaque:
			d.pos++
			lengthAt := d.pos
			length, err := d.uint32("opaque length")
			if err != nil {
				return err
			}
			if uint64(length) > uint64(len(d.buf)-d.pos) {
				return d.fail(lengthAt, ErrTruncated, "opaque length %d exceeds the %d bytes left",
					length, len(d.buf)-d.pos)
			}
			e.Text = append(e.Text, d.buf[d.pos:d.pos+int(length)]...)
			e.Opaque = true
			d.pos += int(length)
		default:
			child, err := d.element(depth + 1)
			if err != nil {
				return err
			}
			e.Children = append(e.Children, child)
		}
	}
}
