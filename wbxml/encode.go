package wbxml

import (
	"bytes"
	"errors"
	"fmt"
)

// Encode writes doc as WBXML. It writes doc.Version (0x01 to 0x03),
// doc.PublicID as a number (or, when it is 0, an index into doc.StringTable
// of doc.PublicIDString, which must be there), charset UTF-8 and the string
// table. Element text is an inline string, or OPAQUE data when Opaque is
// set. An element with no text and no children is written without the
// content bit.
//
// Encode fails on a nil document or root, a version outside 1.1 to 1.3, a
// charset other than 0 or UTF-8, a public identifier string missing from the
// string table, an element whose name its page does not define, a literal
// element, a page without a tag table, non-opaque text containing a NUL
// byte (an inline string cannot carry it), and nesting deeper than MaxDepth.
func Encode(doc *Document) ([]byte, error) {
	if doc == nil || doc.Root == nil {
		return nil, errors.New("wbxml: encode: document or root element is nil")
	}
	if doc.Version < 0x01 || doc.Version > 0x03 {
		return nil, fmt.Errorf("wbxml: encode: version byte 0x%02X is not WBXML 1.1, 1.2 or 1.3",
			doc.Version)
	}
	if doc.Charset != 0 && doc.Charset != CharsetUTF8 {
		return nil, fmt.Errorf("wbxml: encode: charset MIBenum %d is not supported, only UTF-8 (106) is",
			doc.Charset)
	}

	e := &encoder{}
	e.buf.WriteByte(doc.Version)
	e.uint32(doc.PublicID)
	if doc.PublicID == 0 {
		index := bytes.Index(doc.StringTable, append([]byte(doc.PublicIDString), 0))
		if doc.PublicIDString == "" || index < 0 {
			return nil, errors.New("wbxml: encode: public identifier is 0 but its string " +
				"is not in the string table")
		}
		e.uint32(uint32(index))
	}
	e.uint32(CharsetUTF8)
	e.uint32(uint32(len(doc.StringTable)))
	e.buf.Write(doc.StringTable)

	if err := e.element(doc.Root, "", 1); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

type encoder struct {
	buf  bytes.Buffer
	page byte
}

// uint32 writes v as a multi-byte integer (mb_u_int32).
func (e *encoder) uint32(v uint32) {
	var tmp [5]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7F)
	for v >>= 7; v > 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7F) | 0x80
	}
	e.buf.Write(tmp[i:])
}

func (e *encoder) element(el *Element, parentPath string, depth int) error {
	path := parentPath + "/" + el.Name
	if depth > MaxDepth {
		return fmt.Errorf("wbxml: encode %s: elements nested deeper than %d", path, MaxDepth)
	}
	if el.Literal {
		return fmt.Errorf("wbxml: encode %s: literal tags are not supported", path)
	}
	if int(el.Page) >= len(pageTokens) {
		return fmt.Errorf("wbxml: encode %s: code page %d has no tag table", path, el.Page)
	}
	token, ok := pageTokens[el.Page][el.Name]
	if !ok {
		return fmt.Errorf("wbxml: encode %s: code page %d defines no tag %q", path, el.Page, el.Name)
	}

	if el.Page != e.page {
		e.buf.WriteByte(tokenSwitchPage)
		e.buf.WriteByte(el.Page)
		e.page = el.Page
	}
	hasContent := len(el.Text) > 0 || el.Opaque || len(el.Children) > 0
	if !hasContent {
		e.buf.WriteByte(token)
		return nil
	}
	e.buf.WriteByte(token | tagHasContent)

	switch {
	case el.Opaque:
		e.buf.WriteByte(tokenOpaque)
		e.uint32(uint32(len(el.Text)))
		e.buf.Write(el.Text)
	case len(el.Text) > 0:
		if bytes.IndexByte(el.Text, 0) >= 0 {
			return fmt.Errorf("wbxml: encode %s: text contains a NUL byte, which an inline "+
				"string cannot carry; send it as opaque data", path)
		}
		e.buf.WriteByte(tokenStrI)
		e.buf.Write(el.Text)
		e.buf.WriteByte(0)
	}
	for _, c := range el.Children {
		if err := e.element(c, path, depth+1); err != nil {
			return err
		}
	}
	e.buf.WriteByte(tokenEnd)
	return nil
}
