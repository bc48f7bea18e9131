package wbxml

import (
	"encoding/base64"
	"encoding/xml"
	"strings"

	"github.com/virmo/virmo/syncml"
)

// normalise rewrites m in place so that messages that carry the same
// content through different encodings compare equal with reflect.DeepEqual:
//
//   - an opaque Data becomes its standard base64 text with Opaque false,
//     which is what syncml.Encode writes for it;
//   - an XML Data becomes canonical XML: local names only, no attributes or
//     namespace declarations, comments and whitespace-only text dropped.
//     EncodeSyncML drops the same parts when it writes code page 2.
func normalise(m *syncml.Message) *syncml.Message {
	normaliseCommands(m.Body.Commands)
	return m
}

func normaliseCommands(cmds []syncml.Command) {
	for i := range cmds {
		for j := range cmds[i].Items {
			d := cmds[i].Items[j].Data
			switch {
			case d == nil:
			case d.Opaque:
				d.Value = base64.StdEncoding.EncodeToString([]byte(d.Value))
				d.Opaque = false
			case d.XML:
				d.Value = canonicalXML(d.Value)
			}
		}
		normaliseCommands(cmds[i].Commands)
	}
}

func canonicalXML(s string) string {
	d := xml.NewDecoder(strings.NewReader(s))
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return b.String()
		}
		switch t := tok.(type) {
		case xml.StartElement:
			b.WriteString("<" + t.Name.Local + ">")
		case xml.EndElement:
			b.WriteString("</" + t.Name.Local + ">")
		case xml.CharData:
			if text := strings.Trim(string(t), " \t\r\n"); text != "" {
				xml.EscapeText(&b, []byte(t))
			}
		}
	}
}
