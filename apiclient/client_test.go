package apiclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/virmo/virmo/api"
)

// The round trip against the real server Handler lives in package server
// (TestAPIClientRoundTrip); these tests pin the client's own behaviour.

func TestRequestShape(t *testing.T) {
	var gotPath, gotAuth, gotBody string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth = r.URL.RequestURI(), r.Header.Get("Authorization")
		body, _ := io.ReadAll(r.Body)
		gotBody = string(body)
		w.Write([]byte(`{"token":"t","expires_at":"2026-01-01T00:00:00Z"}`))
	}))
	defer ts.Close()

	c := New(ts.URL+"/", "tok", nil)
	if _, err := c.CreateEnrollToken(context.Background(), "n", 90*time.Second); err != nil {
		t.Fatalf("create token: %v", err)
	}
	if gotPath != "/api/v1/enrollment-tokens" {
		t.Errorf("path = %s", gotPath)
	}
	if gotAuth != "Bearer tok" {
		t.Errorf("authorization = %q", gotAuth)
	}
	if gotBody != `{"note":"n","ttl_seconds":90}` {
		t.Errorf("body = %s", gotBody)
	}

	if _, err := c.Enroll(context.Background(), api.EnrollRequest{Token: "x"}); err != nil {
		t.Fatalf("enroll: %v", err)
	}
	if gotAuth != "" {
		t.Errorf("enroll sent authorization %q, want none", gotAuth)
	}
	if _, err := c.GetVM(context.Background(), "dev 1", "vm/2"); err != nil {
		t.Fatalf("get VM: %v", err)
	}
	if gotPath != "/api/v1/devices/dev%201/vms/vm%2F2" {
		t.Errorf("escaped path = %s", gotPath)
	}
}

func TestErrorResponses(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"json error", 404, `{"error":"device \"x\" not found"}`, `device "x" not found`},
		{"plain text", 405, "Method Not Allowed\n", "Method Not Allowed"},
		{"empty body", 502, "", "Bad Gateway"},
		{"long body", 500, strings.Repeat("x", 300), strings.Repeat("x", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer ts.Close()
			_, err := New(ts.URL, "t", nil).ListDevices(context.Background())
			var apiErr *Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v, want *Error", err)
			}
			if apiErr.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", apiErr.StatusCode, tt.status)
			}
			if apiErr.Message != tt.want {
				t.Errorf("message = %q, want %q", apiErr.Message, tt.want)
			}
		})
	}
}

func TestOperationRejectsUnknown(t *testing.T) {
	_, err := New("http://127.0.0.1:1", "t", nil).Operation(context.Background(), "d", "v", "reboot")
	if err == nil || !strings.Contains(err.Error(), `"reboot"`) {
		t.Errorf("error = %v, want one naming reboot", err)
	}
}

func FuzzDecodeError(f *testing.F) {
	f.Add(400, []byte(`{"error":"x"}`))
	f.Add(500, []byte(`{"error":`))
	f.Add(404, []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		err := decodeError(status, body)
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
			t.Errorf("decodeError(%d) = %v", status, err)
		}
	})
}
