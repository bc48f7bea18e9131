package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestAPIContentType(t *testing.T) {
	e := newTestEnv(t)
	url, token := e.serve()
	device := e.deviceWithVM("vm1")
	tests := []struct {
		name, contentType string
		status            int
		want              string
	}{
		{"form", "application/x-www-form-urlencoded", 415, "Content-Type: application/json"},
		{"text", "text/plain", 415, `"text/plain"`},
		{"invalid", "application/", 415, "unsupported Content-Type"},
		{"json suffix", "application/problem+json", 415, "unsupported Content-Type"},
		{"json", "application/json", 200, "intent"},
		{"json with charset", "application/json; charset=utf-8", 200, "intent"},
		{"upper case", "Application/JSON", 200, "intent"},
		{"absent", "", 200, "intent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A repeated stop is accepted, so every case can send one.
			req, err := http.NewRequest(http.MethodPost,
				url+"/api/v1/devices/"+device+"/vms/vm1/stop", strings.NewReader(`{}`))
			if err != nil {
				t.Fatalf("build request: %v", err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, tt.status, body)
			}
			if !strings.Contains(strings.ReplaceAll(string(body), `\"`, `"`), tt.want) {
				t.Errorf("body = %s, want it to contain %s", body, tt.want)
			}
		})
	}
}
