package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/virmo/virmo/api"
)

// postEnroll sends POST /api/v1/enroll with body through client.
func postEnroll(t *testing.T, client *http.Client, url, body string) (int, string) {
	t.Helper()
	resp, err := client.Post(url+"/api/v1/enroll", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST /api/v1/enroll: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestEnrollBasicOverHTTPRejected(t *testing.T) {
	e := newTestEnv(t)
	url, _ := e.serve()
	token, err := e.srv.CreateEnrollToken(e.ctx, "test", time.Hour)
	if err != nil {
		t.Fatalf("create enrollment token: %v", err)
	}

	status, body := postEnroll(t, http.DefaultClient, url,
		`{"token":"`+token+`","devid":"urn:test:basic","auth":"basic"}`)
	if status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400 (body %s)", status, body)
	}
	if !strings.Contains(body, "basic credentials need HTTPS") {
		t.Errorf("body = %s, want it to say basic needs HTTPS", body)
	}
	if strings.Contains(body, "password") {
		t.Errorf("body = %s, carries credentials", body)
	}
	if _, err := e.store.GetDeviceByDevID(e.ctx, "urn:test:basic"); err == nil {
		t.Error("the rejected request created a device")
	}

	// The token is still unused.
	status, body = postEnroll(t, http.DefaultClient, url,
		`{"token":"`+token+`","devid":"urn:test:basic","auth":"md5"}`)
	if status != http.StatusOK {
		t.Fatalf("md5 enroll with the same token: status = %d, want 200 (body %s)", status, body)
	}
}

func TestEnrollBasicOverTLSAccepted(t *testing.T) {
	e := newTestEnv(t)
	ts := httptest.NewTLSServer(e.srv.Handler())
	defer ts.Close()
	token, err := e.srv.CreateEnrollToken(e.ctx, "test", time.Hour)
	if err != nil {
		t.Fatalf("create enrollment token: %v", err)
	}

	status, body := postEnroll(t, ts.Client(), ts.URL,
		`{"token":"`+token+`","devid":"urn:test:basic","auth":"basic"}`)
	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s)", status, body)
	}
	var enrollment api.Enrollment
	if err := json.Unmarshal([]byte(body), &enrollment); err != nil {
		t.Fatalf("decode enrollment: %v", err)
	}
	if enrollment.Auth != "basic" {
		t.Errorf("auth = %q, want basic", enrollment.Auth)
	}
}
