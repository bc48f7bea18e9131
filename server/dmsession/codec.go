package dmsession

import (
	"bytes"
	"encoding/base64"
	"mime"

	"github.com/virmo/virmo/syncml"
	"github.com/virmo/virmo/wbxml"
)

// Meta Formats of binary values: b64 is base64 text (XML), bin raw bytes
// (WBXML OPAQUE).
const (
	formatBin = "bin"
)

// defaultCodecs returns the codecs by media type: XML, and WBXML with its
// binary values carried as OPAQUE.
func defaultCodecs() map[string]codec {
	return map[string]codec{
		syncml.ContentTypeXML: {decode: syncml.Decode, encode: syncml.Encode},
		syncml.ContentTypeWBXML: {
			decode: decodeWBXML,
			encode: encodeWBXML,
		},
	}
}

// requestMediaType returns the media type of a request body: the one its
// Content-Type names, or, when the header is missing, WBXML if the body
// starts like a WBXML SyncML document and XML otherwise.
func requestMediaType(contentType string, body []byte) (string, error) {
	if contentType == "" {
		if wbxml.IsWBXML(body) {
			return syncml.ContentTypeWBXML, nil
		}
		return syncml.ContentTypeXML, nil
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	return mediaType, err
}

// encodingHint returns advice to add to a decode error when the body looks
// like the other encoding than its Content-Type names, or "" otherwise.
func encodingHint(mediaType string, body []byte) string {
	start := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case mediaType == syncml.ContentTypeWBXML && len(start) > 0 && start[0] == '<':
		return "; the body looks like XML: send it with Content-Type " + syncml.ContentTypeXML
	case mediaType == syncml.ContentTypeXML && wbxml.IsWBXML(body):
		return "; the body looks like WBXML: send it with Content-Type " + syncml.ContentTypeWBXML
	}
	return ""
}

// decodeWBXML decodes a WBXML message and turns every OPAQUE bin value into
// b64 text, so hooks and stored results see one form of binary values
// whatever the encoding.
func decodeWBXML(b []byte) (*syncml.Message, error) {
	m, err := wbxml.DecodeSyncML(b)
	if err != nil {
		return nil, err
	}
	forEachItem(m.Body.Commands, opaqueToB64)
	return m, nil
}

// encodeWBXML encodes m with every b64 value sent as OPAQUE bin data. It
// works on a copy of the commands, so m keeps its b64 items.
func encodeWBXML(m *syncml.Message) ([]byte, error) {
	out := *m
	out.Body.Commands = cloneCommands(m.Body.Commands)
	forEachItem(out.Body.Commands, b64ToOpaque)
	return wbxml.EncodeSyncML(&out)
}

// b64ToOpaque turns an item with Meta Format b64 into Format bin with the
// decoded bytes as OPAQUE data. The base64 is decoded here and nowhere
// else, and an item whose data is not valid base64 is left as it is.
func b64ToOpaque(it *syncml.Item) {
	if it.Meta == nil || it.Meta.Format != formatB64 || it.Data == nil || it.Data.Opaque {
		return
	}
	raw, err := base64.StdEncoding.DecodeString(it.Data.Value)
	if err != nil {
		return
	}
	meta := *it.Meta
	meta.Format = formatBin
	it.Meta = &meta
	it.Data = &syncml.Data{Value: string(raw), Opaque: true}
}

// opaqueToB64 turns OPAQUE data of an item with Meta Format bin into b64
// text.
func opaqueToB64(it *syncml.Item) {
	if it.Meta == nil || it.Meta.Format != formatBin || it.Data == nil || !it.Data.Opaque {
		return
	}
	it.Meta.Format = formatB64
	it.Data = syncml.NewData(base64.StdEncoding.EncodeToString([]byte(it.Data.Value)))
}

// forEachItem calls f on every Item of cmds and of their children.
// NOTE: only the Item's own Meta is looked at. A Format given once in the
// command's Meta for all its items is not converted.
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
