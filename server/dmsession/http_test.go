package dmsession

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/virmo/virmo/internal/corpus"
	"github.com/virmo/virmo/syncml"
)

// corpusMessages returns the folder of real SyncML messages from public
// projects, or skips the test when the corpus is missing.
func corpusMessages(t testing.TB) string {
	t.Helper()
	return filepath.Join(corpus.Dir(t), "messages")
}

func TestServeHTTPTransportErrors(t *testing.T) {
	f := newFixture(t, 0)
	valid, err := syncml.Encode(f.newDevice("H1").build(credValid, true, pkg1()...))
	if err != nil {
		t.Fatal(err)
	}
	noSession := bytes.Replace(valid, []byte("<SessionID>H1</SessionID>"), nil, 1)
	if bytes.Equal(noSession, valid) {
		t.Fatal("test message has no SessionID element to remove")
	}

	tests := []struct {
		name        string
		method      string
		contentType string
		body        []byte
		want        int
	}{
		{"get method", http.MethodGet, syncml.ContentTypeXML, nil, http.StatusMethodNotAllowed},
		{"xml labelled wbxml", http.MethodPost, syncml.ContentTypeWBXML, valid, http.StatusBadRequest},
		{"plain text", http.MethodPost, "text/plain", valid, http.StatusUnsupportedMediaType},
		{"bad content type", http.MethodPost, "application/", valid, http.StatusUnsupportedMediaType},
		{"no content type sniffed as xml", http.MethodPost, "", valid, http.StatusOK},
		{"too large", http.MethodPost, syncml.ContentTypeXML,
			bytes.Repeat([]byte(" "), syncml.DefaultMaxMessageSize+1),
			http.StatusRequestEntityTooLarge},
		{"not xml", http.MethodPost, syncml.ContentTypeXML, []byte("<SyncML"), http.StatusBadRequest},
		{"no session id", http.MethodPost, syncml.ContentTypeXML, noSession, http.StatusBadRequest},
		{"charset parameter", http.MethodPost, syncml.ContentTypeXML + "; charset=utf-8", valid,
			http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, f.srv.URL, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("HTTP status = %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func TestServeHTTPTooLargeNamesLimit(t *testing.T) {
	f := newFixture(t, 0)
	body := bytes.Repeat([]byte(" "), syncml.DefaultMaxMessageSize+1)
	resp, data := f.post(body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("HTTP status = %d, want 413", resp.StatusCode)
	}
	want := fmt.Sprintf("limit is %d bytes", syncml.DefaultMaxMessageSize)
	if !strings.Contains(string(data), want) {
		t.Errorf("body = %q, want it to contain %q", data, want)
	}
}

// TestCorpusPackage1Replies sends the client Package 1 messages of the
// corpus. Their devices are unknown, so each gets a 401 or 407 with a
// Chal, and the reply must still be valid SyncML.
func TestCorpusPackage1Replies(t *testing.T) {
	files := []string{
		"001-spec-client-pkg1-alert1200-devinfo.xml",
		"029-fumo-client-pkg1-cdata-everywhere-alert1226.xml",
		"031-fumo-client-pkg3-status-chal-then-alert1201.xml",
		"035-fumo-client-no-namespaces-alert1226-correlator.xml",
		"036-mattrax-windows-client-pkg1-hex-sessionid-md5-status500.xml",
		"037-safekiddo-windowsphone81-client-pkg1-basic-single-line.xml",
		"038-msmdm-windows-client-pkg1-alert1224-loginstatus-devinfo.xml",
	}
	dir := corpusMessages(t)
	f := newFixture(t, 0)
	for _, name := range files {
		t.Run(name[:3], func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			resp, data := f.post(body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP status = %d, want 200; body %q", resp.StatusCode, data)
			}
			reply, err := syncml.Decode(data)
			if err != nil {
				t.Fatalf("decode reply: %v", err)
			}
			if v := syncml.Validate(reply); v != nil {
				t.Fatalf("reply violates DM rules: %v", v)
			}
			lines := describe(reply)
			code, chal := hdrStatus(t, reply)
			if code != syncml.StatusInvalidCredentials && code != syncml.StatusMissingCredentials {
				t.Fatalf("first command = %q, want Status 401 or 407 for SyncHdr", lines[0])
			}
			if chal == nil {
				t.Errorf("SyncHdr Status %d has no Chal", code)
			}
			if reply.Header.Cred != nil {
				t.Errorf("reply to an unknown device carries server credentials")
			}
			for _, c := range reply.Body.Commands {
				if c.Name != syncml.CmdStatus || c.Data != strconv.Itoa(code) {
					t.Fatalf("reply to an unknown device holds %s", describeCommand(c))
				}
			}
		})
	}
}

// FuzzServeHTTP sends arbitrary bodies to the engine. Every answer is 200
// with valid SyncML, or 400 for a body that is not a usable message.
func FuzzServeHTTP(f *testing.F) {
	dir := corpusMessages(f)
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".xml") {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	fx := newFixture(f, 0)
	d := fx.newDevice("F1")
	for _, m := range []*syncml.Message{d.build(credValid, true, pkg1()...),
		d.build(credNone, true, d.hdrOK(), status("1", "4", syncml.CmdGet, 200))} {
		data, err := syncml.Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	engine := fx.srv.Config.Handler

	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/dm", bytes.NewReader(body))
		req.Header.Set("Content-Type", syncml.ContentTypeXML)
		rec := httptest.NewRecorder()
		engine.ServeHTTP(rec, req)

		switch rec.Code {
		case http.StatusOK:
			reply, err := syncml.Decode(rec.Body.Bytes())
			if err != nil {
				t.Fatalf("reply does not decode: %v", err)
			}
			if v := syncml.Validate(reply); v != nil {
				t.Fatalf("reply violates DM rules: %v", v)
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("HTTP status = %d, want 200 or 400", rec.Code)
		}
	})
}
