package dmsession

import (
	"bytes"
	"mime"

	"github.com/virmo/virmo/syncml"
	"github.com/virmo/virmo/wbxml"
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
	wbxml.OpaqueToB64(m)
	return m, nil
}

// encodeWBXML encodes m with every b64 value sent as OPAQUE bin data. It
// works on a copy of the commands, so m keeps its b64 items.
func encodeWBXML(m *syncml.Message) ([]byte, error) {
	return wbxml.EncodeSyncML(wbxml.B64ToOpaque(m))
}
