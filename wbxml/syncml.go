package wbxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/virmo/virmo/syncml"
)

// DecodeSyncML decodes a WBXML SyncML message into the syncml model, with
// the same lenient mapping as syncml.Decode. It accepts the public
// identifiers of SyncML 1.0, 1.1 and 1.2 and the "unknown" identifier 1,
// each as a number or as a string-table FPI, because DM 1.2 clients send
// the 1.1 identifier with VerDTD 1.2.
//
// An Item's Data sent as OPAQUE gets Opaque set and the raw bytes as Value.
// OPAQUE content of any other element (a NextNonce, for example) becomes the
// raw bytes of that string field. A Data holding elements (a TNDS MgmtTree
// on code page 2) gets XML set and a Value of compact XML in which the
// first element carries xmlns="syncml:dmddf1.2".
//
// Errors are the *DecodeError values of Decode, or an error naming the
// public identifier or the element mapping that failed.
func DecodeSyncML(b []byte) (*syncml.Message, error) {
	doc, err := Decode(b)
	if err != nil {
		return nil, err
	}
	if !isSyncMLDocument(doc) {
		return nil, fmt.Errorf("wbxml: public identifier %s is not a SyncML document",
			describePublicID(doc))
	}
	m, err := syncml.BuildMessage(toNode(doc.Root))
	if err != nil {
		return nil, fmt.Errorf("wbxml: %w", err)
	}
	return m, nil
}

func isSyncMLDocument(doc *Document) bool {
	switch doc.PublicID {
	case PublicIDUnknown, PublicIDSyncML10, PublicIDSyncML11, PublicIDSyncML12:
		return true
	case 0:
		switch doc.PublicIDString {
		case FPISyncML10, FPISyncML11, FPISyncML12:
			return true
		}
	}
	return false
}

func describePublicID(doc *Document) string {
	if doc.PublicID == 0 {
		return fmt.Sprintf("%q", doc.PublicIDString)
	}
	return fmt.Sprintf("0x%04X", doc.PublicID)
}

func toNode(e *Element) *syncml.Node {
	n := &syncml.Node{Name: e.Name, Text: string(e.Text), Opaque: e.Opaque}
	if !e.Literal && int(e.Page) < len(pageNamespaces) {
		n.Space = pageNamespaces[e.Page]
	}
	for _, c := range e.Children {
		n.Children = append(n.Children, toNode(c))
	}
	return n
}

// IsWBXML reports whether b looks like a WBXML SyncML document: a version
// byte of 0x01 to 0x03 followed by a public identifier that is 0 (a
// string-table reference), 1 (unknown) or a SyncML identifier. XML input
// never matches, because its first byte is '<', white space or a byte-order
// mark.
func IsWBXML(b []byte) bool {
	if len(b) < 2 || b[0] < 0x01 || b[0] > 0x03 {
		return false
	}
	d := &decoder{buf: b, pos: 1}
	id, err := d.uint32("public identifier")
	if err != nil {
		return false
	}
	switch id {
	case 0, PublicIDUnknown, PublicIDSyncML10, PublicIDSyncML11, PublicIDSyncML12:
		return true
	}
	return false
}

// EncodeSyncML writes m as WBXML 1.2 with public identifier 0x1201, charset
// UTF-8 and an empty string table. It writes the elements in the order and
// with the presence rules of syncml.Encode: SyncHdr's identifying fields
// always, empty TargetRef and SourceRef entries, and a non-nil empty Data.
//
// An Item's Data is an inline string, or OPAQUE data when Data.Opaque is
// set. A Data with XML set is parsed and written as elements on code page 2
// (DM DDF, used by TNDS), so every element in it must be a DM DDF element.
// Namespace declarations, comments and whitespace-only text in it are
// dropped.
//
// EncodeSyncML fails on a nil message, a command name that code page 0 does
// not define, a Data.XML value that is not well-formed or holds an element
// outside DM DDF or an attribute other than xmlns, and text with a NUL byte
// outside opaque Data.
func EncodeSyncML(m *syncml.Message) ([]byte, error) {
	if m == nil {
		return nil, errors.New("wbxml: encode: message is nil")
	}
	root, err := messageElement(m)
	if err != nil {
		return nil, err
	}
	return Encode(&Document{
		Version:  0x02,
		PublicID: PublicIDSyncML12,
		Charset:  CharsetUTF8,
		Root:     root,
	})
}

func messageElement(m *syncml.Message) (*Element, error) {
	body, err := bodyElement(&m.Body)
	if err != nil {
		return nil, err
	}
	return tag("SyncML", headerElement(&m.Header), body), nil
}

// tag returns a page 0 element with the given children, skipping nil ones.
func tag(name string, children ...*Element) *Element {
	e := &Element{Name: name, Page: PageSyncML}
	for _, c := range children {
		if c != nil {
			e.Children = append(e.Children, c)
		}
	}
	return e
}

// text returns a page 0 element holding value, even when value is empty.
func text(name, value string) *Element {
	return &Element{Name: name, Page: PageSyncML, Text: []byte(value)}
}

// optional returns text(name, value), or nil when value is empty.
func optional(name, value string) *Element {
	if value == "" {
		return nil
	}
	return text(name, value)
}

func flag(name string, set bool) *Element {
	if !set {
		return nil
	}
	return tag(name)
}

func headerElement(h *syncml.Header) *Element {
	var cred *Element
	if h.Cred != nil {
		cred = tag("Cred", metaElement(h.Cred.Meta), text("Data", h.Cred.Data))
	}
	return tag("SyncHdr",
		text("VerDTD", h.VerDTD),
		text("VerProto", h.VerProto),
		text("SessionID", h.SessionID),
		text("MsgID", h.MsgID),
		locatorElement("Target", &h.Target),
		locatorElement("Source", &h.Source),
		optional("RespURI", h.RespURI),
		flag("NoResp", h.NoResp),
		cred,
		metaElement(h.Meta),
	)
}

func locatorElement(name string, l *syncml.Locator) *Element {
	return tag(name, text("LocURI", l.LocURI), optional("LocName", l.LocName))
}

// metaElement writes the MetInf fields on page 1 in MetInf DTD order.
func metaElement(m *syncml.Meta) *Element {
	if m == nil {
		return nil
	}
	meta := tag("Meta")
	for _, f := range syncml.MetInfFields(m) {
		meta.Children = append(meta.Children,
			&Element{Name: f.Name, Page: PageMetInf, Text: []byte(f.Value)})
	}
	return meta
}

func bodyElement(b *syncml.Body) (*Element, error) {
	body := tag("SyncBody")
	for i := range b.Commands {
		c, err := commandElement(&b.Commands[i])
		if err != nil {
			return nil, err
		}
		body.Children = append(body.Children, c)
	}
	if b.Final {
		body.Children = append(body.Children, tag("Final"))
	}
	return body, nil
}

// commandElement uses syncml.Encode's single field order: CmdID, NoResp,
// MsgRef, CmdRef, Cmd, Meta, TargetRef*, SourceRef*, Chal, Data,
// Correlator, Item*, nested commands.
func commandElement(c *syncml.Command) (*Element, error) {
	if c.Name == "Final" {
		return nil, errors.New("wbxml: encode SyncBody: a command is named Final, " +
			"which marks the end of a package")
	}
	if _, ok := pageTokens[PageSyncML][c.Name]; !ok {
		return nil, fmt.Errorf("wbxml: encode SyncBody: command %q is not a SyncML element", c.Name)
	}

	e := tag(c.Name,
		text("CmdID", c.CmdID),
		flag("NoResp", c.NoResp),
		optional("MsgRef", c.MsgRef),
		optional("CmdRef", c.CmdRef),
		optional("Cmd", c.Cmd),
		metaElement(c.Meta),
	)
	for _, ref := range c.TargetRefs {
		e.Children = append(e.Children, text("TargetRef", ref))
	}
	for _, ref := range c.SourceRefs {
		e.Children = append(e.Children, text("SourceRef", ref))
	}
	if c.Chal != nil {
		e.Children = append(e.Children, tag("Chal", metaElement(c.Chal.Meta)))
	}
	for _, f := range []*Element{optional("Data", c.Data), optional("Correlator", c.Correlator)} {
		if f != nil {
			e.Children = append(e.Children, f)
		}
	}
	for i := range c.Items {
		item, err := itemElement(&c.Items[i])
		if err != nil {
			return nil, fmt.Errorf("%w (in %s CmdID %q)", err, c.Name, c.CmdID)
		}
		e.Children = append(e.Children, item)
	}
	for i := range c.Commands {
		child, err := commandElement(&c.Commands[i])
		if err != nil {
			return nil, err
		}
		e.Children = append(e.Children, child)
	}
	return e, nil
}

func itemElement(it *syncml.Item) (*Element, error) {
	var target, source, data *Element
	if it.Target != nil {
		target = locatorElement("Target", it.Target)
	}
	if it.Source != nil {
		source = locatorElement("Source", it.Source)
	}
	if it.Data != nil {
		var err error
		if data, err = dataElement(it.Data); err != nil {
			return nil, err
		}
	}
	return tag("Item", target, source, metaElement(it.Meta), data, flag("MoreData", it.MoreData)), nil
}

func dataElement(d *syncml.Data) (*Element, error) {
	e := tag("Data")
	switch {
	case d.Opaque:
		e.Text, e.Opaque = []byte(d.Value), true
	case d.XML:
		children, err := ddfElements(d.Value)
		if err != nil {
			return nil, fmt.Errorf("wbxml: encode Item/Data: %w", err)
		}
		e.Children = children
	default:
		e.Text = []byte(d.Value)
	}
	return e, nil
}

// ddfElements parses XML element content into page 2 (DM DDF) elements.
func ddfElements(content string) ([]*Element, error) {
	d := xml.NewDecoder(strings.NewReader(content))
	d.Strict = true
	top := &Element{}
	stack := []*Element{top}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("XML value is not well-formed: %w", err)
		}

		switch t := tok.(type) {
		case xml.StartElement:
			if _, ok := pageTokens[PageDMDDF][t.Name.Local]; !ok {
				return nil, fmt.Errorf("XML value holds <%s>, which is not a DM DDF element "+
					"and has no WBXML token", t.Name.Local)
			}
			for _, a := range t.Attr {
				if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
					return nil, fmt.Errorf("XML value has attribute %q on <%s>, "+
						"which WBXML DM DDF cannot carry", a.Name.Local, t.Name.Local)
				}
			}
			e := &Element{Name: t.Name.Local, Page: PageDMDDF}
			parent := stack[len(stack)-1]
			parent.Children = append(parent.Children, e)
			stack = append(stack, e)
		case xml.EndElement:
			if len(stack) == 1 {
				return nil, errors.New("XML value closes an element it did not open")
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(bytes.Trim(t, " \t\r\n")) == 0 {
				continue
			}
			if len(stack) == 1 {
				return nil, errors.New("XML value has text outside its elements")
			}
			e := stack[len(stack)-1]
			e.Text = append(e.Text, t...)
		case xml.Directive, xml.ProcInst:
			return nil, errors.New("XML value holds a declaration or processing instruction")
		}
	}
	return top.Children, nil
}
