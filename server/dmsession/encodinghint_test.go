package dmsession

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/virmo/virmo/syncml"
)

func TestDecodeErrorNamesOtherEncoding(t *testing.T) {
	f := newFixture(t, 0)
	msg := f.newDevice("E1").build(credValid, true, pkg1()...)
	xmlBody, err := syncml.Encode(msg)
	if err != nil {
		t.Fatalf("encode XML: %v", err)
	}
	wbxmlBody, err := encodeWBXML(msg)
	if err != nil {
		t.Fatalf("encode WBXML: %v", err)
	}

	tests := []struct {
		name, contentType string
		body              []byte
		want              string
	}{
		{"xml labelled wbxml", syncml.ContentTypeWBXML, xmlBody,
			"the body looks like XML: send it with Content-Type " + syncml.ContentTypeXML},
		{"xml with bom labelled wbxml", syncml.ContentTypeWBXML,
			append([]byte("\xef\xbb\xbf\n"), xmlBody...),
			"the body looks like XML: send it with Content-Type " + syncml.ContentTypeXML},
		{"wbxml labelled xml", syncml.ContentTypeXML, wbxmlBody,
			"the body looks like WBXML: send it with Content-Type " + syncml.ContentTypeWBXML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, f.srv.URL, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("HTTP status = %d, want 400 (body %q)", resp.StatusCode, data)
			}
			if !strings.Contains(string(data), tt.want) {
				t.Errorf("body = %q, want it to contain %q", data, tt.want)
			}
		})
	}
}

func TestEncodingHintMatchingBody(t *testing.T) {
	if got := encodingHint(syncml.ContentTypeXML, []byte("<SyncML")); got != "" {
		t.Errorf("hint for an XML body sent as XML = %q, want none", got)
	}
	if got := encodingHint(syncml.ContentTypeWBXML, []byte{0x02, 0x00}); got != "" {
		t.Errorf("hint for a WBXML body sent as WBXML = %q, want none", got)
	}
	if got := encodingHint(syncml.ContentTypeWBXML, nil); got != "" {
		t.Errorf("hint for an empty body = %q, want none", got)
	}
}
