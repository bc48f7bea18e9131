package agent

import (
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
// content type. In WBXML every b64 item travels as OPAQUE bin data. The
// tree returns a Get of a bin node as b64, so its base64 is decoded here.
func encodeMessage(enc string, m *syncml.Message) ([]byte, string, error) {
	if enc != EncodingWBXML {
		body, err := syncml.Encode(m)
		return body, syncml.ContentTypeXML, err
	}
	body, err := wbxml.EncodeSyncML(wbxml.B64ToOpaque(m))
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
