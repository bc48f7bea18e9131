package agent

import (
	"encoding/base64"
	"fmt"
	"mime"

	"github.com/virmo/virmo/syncml"
	"github.com/virmo/virmo/wbxml"
)

// Message encodings of Config.Encoding.
const (
	// EncodingXML sends application/vnd.syncml.dm+xml, the default.
	EncodingXML = "xml"
	// EncodingWBXML sends application/vnd.syncml.dm+wbxml.
	EncodingWBXML = "wbxml"
)

// reply is one server reply: the decoded message, the exact body bytes
// the MAC covers and the x-syncml-hmac header.
type reply struct {
	msg  *syncml.Message
	body []byte
	hmac string
}

// checkEncoding returns the encoding enc names, "" meaning xml, or an
// error for an unknown one.
func checkEncoding(enc string) (string, error) {
	switch enc {
	case "", EncodingXML:
		return EncodingXML, nil
	case EncodingWBXML:
		return EncodingWBXML, nil
	}
	return "", fmt.Errorf("invalid encoding %q: use xml or wbxml", enc)
}

// encodeMessage encodes m in encoding enc and returns the body and its
// content type. In WBXML every b64 item travels as OPAQUE bin data.
func encodeMessage(enc string, m *syncml.Message) ([]byte, string, error) {
	if enc != EncodingWBXML {
		body, err := syncml.Encode(m)
		return body, syncml.ContentTypeXML, err
	}
	out := *m
	out.Body.Commands = cloneCommands(m.Body.Commands)
	forEachItem(out.Body.Commands, b64ToOpaque)
	body, err := wbxml.EncodeSyncML(&out)
	return body, syncml.ContentTypeWBXML, err
}

// decodeMessage decodes a server reply by its Content-Type; without one, a
// body that starts like WBXML SyncML is WBXML and any other is XML.
// OPAQUE bin data stays raw bytes with Format bin, which the tree stores
// as it is.
func decodeMessage(contentType string, body []byte) (*syncml.Message, error) {
	mediaType := syncml.ContentTypeXML
	if contentType == "" {
		if wbxml.IsWBXML(body) {
			mediaType = syncml.ContentTypeWBXML
		}
	} else {
		var err error
		if mediaType, _, err = mime.ParseMediaType(contentType); err != nil {
			return nil, fmt.Errorf("invalid reply content type %q: %w", contentType, err)
		}
	}
	switch mediaType {
	case syncml.ContentTypeXML:
		return syncml.Decode(body)
	case syncml.ContentTypeWBXML:
		return wbxml.DecodeSyncML(body)
	}
	return nil, fmt.Errorf("reply content type %q is neither %s nor %s",
		contentType, syncml.ContentTypeXML, syncml.ContentTypeWBXML)
}

// b64ToOpaque turns an item with Meta Format b64 into Format bin with the
// decoded bytes as OPAQUE data. The tree returns a Get of a bin node as
// b64, and this is the one place its base64 is decoded. Data that is not
// valid base64 is left as it is.
func b64ToOpaque(it *syncml.Item) {
	if it.Meta == nil || it.Meta.Format != "b64" || it.Data == nil || it.Data.Opaque {
		return
	}
	raw, err := base64.StdEncoding.DecodeString(it.Data.Value)
	if err != nil {
		return
	}
	meta := *it.Meta
	meta.Format = "bin"
	it.Meta = &meta
	it.Data = &syncml.Data{Value: string(raw), Opaque: true}
}

// forEachItem calls f on every Item of cmds and of their children.
func forEachItem(cmds []syncml.Command, f func(*syncml.Item)) {
	for i := range cmds {
		for j := range cmds[i].Items {
			f(&cmds[i].Items[j])
		}
		forEachItem(cmds[i].Commands, f)
	}
}

// cloneCommands copies cmds deeply enough for forEachItem to change the
// copy's items without touching the originals.
func cloneCommands(cmds []syncml.Command) []syncml.Command {
	if cmds == nil {
		return nil
	}
	out := make([]syncml.Command, len(cmds))
	for i, c := range cmds {
		c.Items = append([]syncml.Item(nil), c.Items...)
		c.Commands = cloneCommands(c.Commands)
		out[i] = c
	}
	return out
}
