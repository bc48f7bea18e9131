package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/virmo/virmo/api"
)

func TestEnrollStoresAccount(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv)

	acc := ta.account(t)
	if acc.ServerID != testServerID || acc.ServerURL != srv.dmURL() {
		t.Errorf("account server = %q at %q, want %q at %q",
			acc.ServerID, acc.ServerURL, testServerID, srv.dmURL())
	}
	if acc.ClientUser != testClientUser || acc.ClientPassword != testClientPassword {
		t.Errorf("client credentials not stored as enrolled")
	}
	if acc.ServerUser != testServerID || acc.ServerPassword != testServerPassword {
		t.Errorf("server credentials not stored as enrolled")
	}
	if string(acc.ClientNonce) != string(testClientNonce) ||
		string(acc.ServerNonce) != string(testServerNonce) {
		t.Errorf("nonces not stored as enrolled")
	}
	if ta.info.DevID != testDevID {
		t.Errorf("agent DevID = %q, want the enrolled %q", ta.info.DevID, testDevID)
	}
}

func TestEnrollDefaultDevIDStable(t *testing.T) {
	var devIDs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req api.EnrollRequest
		json.NewDecoder(r.Body).Decode(&req)
		devIDs = append(devIDs, req.DevID)
		json.NewEncoder(w).Encode(api.Enrollment{
			ServerID: "s", ServerURL: "http://127.0.0.1:1/dm", ClientUser: "u",
			ClientPassword: "p", ServerPassword: "q",
		})
	}))
	defer srv.Close()

	dir := t.TempDir()
	for range 2 {
		err := Enroll(context.Background(), EnrollConfig{DataDir: dir, ServerURL: srv.URL,
			Token: "t", HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(devIDs) != 2 {
		t.Fatalf("server saw %d enrollments, want 2", len(devIDs))
	}
	if !strings.HasPrefix(devIDs[0], "urn:uuid:") || len(devIDs[0]) != len("urn:uuid:")+36 {
		t.Errorf("default DevID %q is not a urn:uuid", devIDs[0])
	}
	if devIDs[0] != devIDs[1] {
		t.Errorf("default DevID changed between enrollments: %q, %q", devIDs[0], devIDs[1])
	}
}

func TestEnrollErrors(t *testing.T) {
	good := api.Enrollment{
		ServerID: "s", ServerURL: "http://127.0.0.1:1/dm", ClientUser: "u",
		ClientPassword: "secret-client-pw", ServerPassword: "secret-server-pw",
		ClientNonce: "AAAA", ServerNonce: "AAAA",
	}
	tests := []struct {
		name    string
		status  int
		body    any
		wantErr string
	}{
		{"token rejected", 401, map[string]string{"error": "unknown enrollment token"},
			"unknown enrollment token"},
		{"server error without JSON", 500, "oops", "HTTP 500"},
		{"not JSON", 200, "<html>", "invalid response"},
		{"missing password", 200, func() api.Enrollment {
			e := good
			e.ClientPassword = ""
			return e
		}(), "client_password"},
		{"bad server URL", 200, func() api.Enrollment {
			e := good
			e.ServerURL = "ftp://example/dm"
			return e
		}(), "server_url"},
		{"bad nonce", 200, func() api.Enrollment {
			e := good
			e.ClientNonce = "%%%"
			return e
		}(), "client_nonce"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				if s, ok := tt.body.(string); ok {
					w.Write([]byte(s))
					return
				}
				json.NewEncoder(w).Encode(tt.body)
			}))
			defer srv.Close()

			dir := t.TempDir()
			err := Enroll(context.Background(), EnrollConfig{DataDir: dir, ServerURL: srv.URL,
				Token: "t", HTTPClient: srv.Client()})
			if err == nil {
				t.Fatal("Enroll succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret-") {
				t.Errorf("error quotes a password: %v", err)
			}
		})
	}
}

func TestEnrollRequiresFields(t *testing.T) {
	tests := []EnrollConfig{
		{ServerURL: "http://127.0.0.1:1", Token: "t"},
		{DataDir: t.TempDir(), Token: "t"},
		{DataDir: t.TempDir(), ServerURL: "http://127.0.0.1:1"},
		{DataDir: t.TempDir(), ServerURL: "127.0.0.1:1", Token: "t"},
	}
	for i, cfg := range tests {
		if err := Enroll(context.Background(), cfg); err == nil {
			t.Errorf("case %d: Enroll(%+v) succeeded", i, cfg)
		}
	}
}

func TestEnrollWhileAgentRuns(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv)

	err := Enroll(context.Background(), EnrollConfig{DataDir: ta.dir, ServerURL: srv.srv.URL,
		Token: testToken, HTTPClient: srv.srv.Client()})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("err = %v, want the data directory in use", err)
	}
}
