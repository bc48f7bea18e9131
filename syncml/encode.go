package syncml

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Encode writes m as compact XML: an XML declaration, then
// <SyncML xmlns="SYNCML:SYNCML1.2"> with elements in SyncML DTD 1.2 order
// and MetInf elements in the syncml:metinf namespace.
//
// Encode writes every value the model holds: SyncHdr's VerDTD, VerProto,
// SessionID, MsgID, Target and Source even when empty, TargetRef and
// SourceRef entries that are empty, and a non-nil Data with an empty Value
// as <Data></Data>. Other empty strings are absent elements. Text is escaped.
// A Data with XML set is written raw and must be well-formed XML content. A
// Data with Opaque set is written as base64 text, because XML cannot carry
// raw bytes. Decoding it back yields that base64 text with Opaque false, so
// the Item should carry Meta Format b64.
//
// Encode does not check the DM rules (Validate does). It fails on a nil
// message, a command name that is not an XML name, text holding characters
// that XML 1.0 cannot carry, and a Data.XML value that is not well-formed.
// Decode(Encode(m)) returns a message equal to m for any m that Decode
// produced.
func Encode(m *Message) ([]byte, error) {
	if m == nil {
		return nil, errors.New("encode: message is nil")
	}

	w := &writer{}
	w.buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	w.buf.WriteString(`<SyncML xmlns="` + NamespaceSyncML + `">`)
	w.header(&m.Header)
	w.body(&m.Body)
	w.buf.WriteString("</SyncML>")
	if w.err != nil {
		return nil, w.err
	}
	return w.buf.Bytes(), nil
}

// writer accumulates output and keeps the first error, so the encoding
// functions read as a plain list of elements.
type writer struct {
	buf bytes.Buffer
	err error
}

func (w *writer) fail(path, format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("encode %s: %s", path, fmt.Sprintf(format, args...))
	}
}

func (w *writer) open(name string)  { w.buf.WriteString("<" + name + ">") }
func (w *writer) close(name string) { w.buf.WriteString("</" + name + ">") }

// text writes <name>value</name>, even when value is empty.
func (w *writer) text(path, name, value string) {
	w.open(name)
	w.escape(path+"/"+name, value)
	w.close(name)
}

// optional writes <name>value</name> only when value is not empty.
func (w *writer) optional(path, name, value string) {
	if value != "" {
		w.text(path, name, value)
	}
}

func (w *writer) flag(name string, set bool) {
	if set {
		w.buf.WriteString("<" + name + "/>")
	}
}

// escape writes s as character data. A carriage return is written as a
// character reference, because a parser turns a literal one into a newline.
func (w *writer) escape(path, s string) {
	for i, r := range s {
		switch {
		case r == '&':
			w.buf.WriteString("&amp;")
		case r == '<':
			w.buf.WriteString("&lt;")
		case r == '>':
			w.buf.WriteString("&gt;")
		case r == '\r':
			w.buf.WriteString("&#xD;")
		case r == utf8.RuneError && !validRuneAt(s, i):
			w.fail(path, "value is not valid UTF-8 at byte %d (send binary data as b64)", i)
			return
		case !isXMLChar(r):
			w.fail(path, "value contains %U at byte %d, which XML 1.0 cannot carry "+
				"(send binary data as b64)", r, i)
			return
		default:
			w.buf.WriteRune(r)
		}
	}
}

func validRuneAt(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return r != utf8.RuneError || size > 1
}

// isXMLChar reports whether r is in the Char production of XML 1.0.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

func (w *writer) header(h *Header) {
	const path = "SyncHdr"
	w.open(path)
	w.text(path, "VerDTD", h.VerDTD)
	w.text(path, "VerProto", h.VerProto)
	w.text(path, "SessionID", h.SessionID)
	w.text(path, "MsgID", h.MsgID)
	w.locator(path, "Target", &h.Target)
	w.locator(path, "Source", &h.Source)
	w.optional(path, "RespURI", h.RespURI)
	w.flag("NoResp", h.NoResp)
	if h.Cred != nil {
		w.open("Cred")
		w.meta(path+"/Cred", h.Cred.Meta)
		w.text(path+"/Cred", "Data", h.Cred.Data)
		w.close("Cred")
	}
	w.meta(path, h.Meta)
	w.close(path)
}

// locator writes a Target or Source. LocURI is always written because the
// DTD requires it; LocName only when it is set.
func (w *writer) locator(path, name string, l *Locator) {
	path += "/" + name
	w.open(name)
	w.text(path, "LocURI", l.LocURI)
	w.optional(path, "LocName", l.LocName)
	w.close(name)
}

// meta writes the MetInf fields in MetInf DTD order.
func (w *writer) meta(path string, m *Meta) {
	if m == nil {
		return
	}
	path += "/Meta"
	w.open("Meta")
	for _, f := range MetInfFields(m) {
		w.buf.WriteString("<" + f.Name + ` xmlns="` + NamespaceMetInf + `">`)
		w.escape(path+"/"+f.Name, f.Value)
		w.close(f.Name)
	}
	w.close("Meta")
}

// MetInfField is one MetInf element of a Meta: its element name and text.
type MetInfField struct {
	Name  string
	Value string
}

// MetInfFields returns the fields of m that are set, in MetInf DTD order,
// the order in which both the XML and the WBXML encoders write them.
func MetInfFields(m *Meta) []MetInfField {
	fields := []MetInfField{
		{"Format", m.Format},
		{"Type", m.Type},
		{"Mark", m.Mark},
		{"Size", m.Size},
		{"Version", m.Version},
		{"NextNonce", m.NextNonce},
		{"MaxMsgSize", m.MaxMsgSize},
		{"MaxObjSize", m.MaxObjSize},
	}
	set := fields[:0]
	for _, f := range fields {
		if f.Value != "" {
			set = append(set, f)
		}
	}
	return set
}

func (w *writer) body(b *Body) {
	w.open("SyncBody")
	counts := map[string]int{}
	for i := range b.Commands {
		c := &b.Commands[i]
		counts[c.Name]++
		if c.Name == "Final" {
			w.fail("SyncBody", "command %d is named Final, which marks the end of a package", i+1)
			return
		}
		w.command(childPath("SyncBody", c.Name, counts[c.Name]), c)
	}
	w.flag("Final", b.Final)
	w.close("SyncBody")
}

// command writes one command. A single field order serves every command
// because it agrees with each command's DTD content model:
// CmdID, NoResp, MsgRef, CmdRef, Cmd, Meta, TargetRef*, SourceRef*, Chal,
// Data, Correlator, Item*, nested commands. Results may carry Cmd, as
// Windows clients send it, and it goes after CmdRef.
func (w *writer) command(path string, c *Command) {
	if !isCommandName(c.Name) {
		w.fail(path, "command name %q is not an XML element name", c.Name)
		return
	}

	w.open(c.Name)
	w.text(path, "CmdID", c.CmdID)
	w.flag("NoResp", c.NoResp)
	w.optional(path, "MsgRef", c.MsgRef)
	w.optional(path, "CmdRef", c.CmdRef)
	w.optional(path, "Cmd", c.Cmd)
	w.meta(path, c.Meta)
	for _, ref := range c.TargetRefs {
		w.text(path, "TargetRef", ref)
	}
	for _, ref := range c.SourceRefs {
		w.text(path, "SourceRef", ref)
	}
	if c.Chal != nil {
		w.open("Chal")
		w.meta(path+"/Chal", c.Chal.Meta)
		w.close("Chal")
	}
	w.optional(path, "Data", c.Data)
	w.optional(path, "Correlator", c.Correlator)
	for i := range c.Items {
		w.item(childPath(path, "Item", i+1), &c.Items[i])
	}

	counts := map[string]int{}
	for i := range c.Commands {
		child := &c.Commands[i]
		counts[child.Name]++
		w.command(childPath(path, child.Name, counts[child.Name]), child)
	}
	w.close(c.Name)
}

func (w *writer) item(path string, it *Item) {
	w.open("Item")
	if it.Target != nil {
		w.locator(path, "Target", it.Target)
	}
	if it.Source != nil {
		w.locator(path, "Source", it.Source)
	}
	w.meta(path, it.Meta)
	if it.Data != nil {
		w.data(path+"/Data", it.Data)
	}
	w.flag("MoreData", it.MoreData)
	w.close("Item")
}

func (w *writer) data(path string, d *Data) {
	w.open("Data")
	switch {
	case d.Opaque:
		w.buf.WriteString(base64.StdEncoding.EncodeToString([]byte(d.Value)))
	case d.XML:
		if err := checkXMLContent(d.Value); err != nil {
			w.fail(path, "XML value is not well-formed: %v", err)
			return
		}
		w.buf.WriteString(d.Value)
	default:
		w.escape(path, d.Value)
	}
	w.close("Data")
}

// checkXMLContent reports whether s is well-formed XML element content: it
// must parse inside a wrapper element without closing it early.
func checkXMLContent(s string) error {
	wrapped := "<Data>" + s + "</Data>"
	d := xml.NewDecoder(bytes.NewReader([]byte(wrapped)))
	d.Strict = true
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 && d.InputOffset() != int64(len(wrapped)) {
				return errors.New("value closes the Data element")
			}
		case xml.Directive:
			return errors.New("value contains a declaration")
		}
	}
}

// isCommandName reports whether name can be written as an element name.
// DM command names pass at once. Other names, which Decode keeps from SyncML
// DS messages, are checked with the XML parser itself, so any name that
// Decode produced can be written back.
func isCommandName(name string) bool {
	switch name {
	case CmdAdd, CmdAlert, CmdAtomic, CmdCopy, CmdDelete, CmdExec, CmdGet,
		CmdReplace, CmdResults, CmdSequence, CmdStatus:
		return true
	}
	if name == "" {
		return false
	}
	d := xml.NewDecoder(bytes.NewReader([]byte("<" + name + "/>")))
	tok, err := d.Token()
	if err != nil {
		return false
	}
	start, ok := tok.(xml.StartElement)
	return ok && start.Name.Space == "" && start.Name.Local == name
}
