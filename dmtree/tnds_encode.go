package dmtree

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"unicode/utf8"
)

// EncodeTNDS writes nodes as an XML TNDS document: a MgmtTree in the DDF
// namespace with VerDTD 1.2 and the nodes in order, without an XML
// declaration, so the result can be the content of an Item's Data. Bin
// values are written base64-encoded with Format b64. Properties that are
// empty strings are left out. It fails on a value or property holding a
// character that XML 1.0 cannot carry.
func EncodeTNDS(nodes []*TNDSNode) ([]byte, error) {
	w := &tndsWriter{}
	w.buf.WriteString(`<MgmtTree xmlns="` + NamespaceDDF + `"><VerDTD>1.2</VerDTD>`)
	for _, n := range nodes {
		w.node(n)
	}
	w.buf.WriteString("</MgmtTree>")
	if w.err != nil {
		return nil, w.err
	}
	return w.buf.Bytes(), nil
}

type tndsWriter struct {
	buf bytes.Buffer
	err error
}

// text writes <name>value</name>, escaping value.
func (w *tndsWriter) text(name, value string) {
	if w.err == nil && !xmlText(value) {
		w.err = fmt.Errorf("encode TNDS: %s value %q holds a character XML 1.0 cannot carry",
			name, clip(value))
	}
	w.buf.WriteString("<" + name + ">")
	_ = xml.EscapeText(&w.buf, []byte(value))
	w.buf.WriteString("</" + name + ">")
}

// optional writes <name>value</name> unless value is empty.
func (w *tndsWriter) optional(name, value string) {
	if value != "" {
		w.text(name, value)
	}
}

func (w *tndsWriter) node(n *TNDSNode) {
	w.buf.WriteString("<Node>")
	w.text("NodeName", n.Name)
	w.optional("Path", n.Path)
	format := n.Props.Format
	if format == FormatBin {
		format = FormatB64
	}
	p := n.Props
	if p.ACL != nil || format != "" || p.Size != "" || p.Title != "" || p.TStamp != "" ||
		p.Type != "" || p.VerNo != "" {
		w.buf.WriteString("<RTProperties>")
		if p.ACL != nil {
			w.text("ACL", *p.ACL)
		}
		if format != "" {
			w.buf.WriteString("<Format><" + string(format) + "/></Format>")
		}
		w.optional("Size", p.Size)
		w.optional("Title", p.Title)
		w.optional("TStamp", p.TStamp)
		if p.Type != "" {
			elem := "MIME"
			if p.TypeDDFName {
				elem = "DDFName"
			}
			w.buf.WriteString("<Type>")
			w.text(elem, p.Type)
			w.buf.WriteString("</Type>")
		}
		w.optional("VerNo", p.VerNo)
		w.buf.WriteString("</RTProperties>")
	}
	if n.Value != nil {
		if format == FormatB64 {
			w.text("Value", base64.StdEncoding.EncodeToString(n.Value))
		} else {
			w.text("Value", string(n.Value))
		}
	}
	for _, c := range n.Children {
		w.node(c)
	}
	w.buf.WriteString("</Node>")
}

// xmlText reports whether s is UTF-8 made only of XML 1.0 characters.
func xmlText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		ok := r == 0x09 || r == 0x0A || r == 0x0D ||
			r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
		if !ok {
			return false
		}
	}
	return true
}
