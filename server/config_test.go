package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/store/sqlite"
)

func TestNewRejectsBadPublicURL(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"empty", "", "empty"},
		{"trailing word", "http://127.0.0.1:18223 typo", "whitespace"},
		{"not a url", "not a url", "whitespace"},
		{"no scheme", "127.0.0.1:8080", "http(s)://host"},
		{"ftp scheme", "ftp://x", `scheme "ftp"`},
		{"no host", "http://:8080", "no host"},
		{"path only", "/dm", `scheme ""`},
		{"bad port", "http://127.0.0.1:99999", `port "99999"`},
		{"query", "http://127.0.0.1:8080?a=b", "query or fragment"},
		{"fragment", "http://127.0.0.1:8080#x", "query or fragment"},
		{"user info", "http://u:p@127.0.0.1:8080", "user information"},
		{"newline", "http://127.0.0.1:8080\n", "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			st, err := sqlite.Open(ctx, filepath.Join(dir, "server.db"))
			if err != nil {
				t.Fatalf("open store: %v", err)
			}
			defer st.Close()
			srv, err := New(ctx, Config{DataDir: dir, Store: st, PublicURL: tt.url})
			if err == nil {
				srv.Close()
				t.Fatalf("New accepted public URL %q", tt.url)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if tt.url != "" && !strings.Contains(err.Error(), tt.url) &&
				!strings.Contains(err.Error(), strings.TrimSpace(tt.url)) {
				t.Errorf("error = %q, want it to name the value %q", err, tt.url)
			}
			if !strings.Contains(err.Error(), "http://127.0.0.1:8080") {
				t.Errorf("error = %q, want it to give an example of the expected form", err)
			}
		})
	}
}

func TestNewAcceptsPublicURL(t *testing.T) {
	for _, raw := range []string{"http://127.0.0.1:8080", "https://mdm.example/", "http://[::1]:80/virmo"} {
		if err := checkPublicURL(raw); err != nil {
			t.Errorf("checkPublicURL(%q) = %v, want nil", raw, err)
		}
	}
}

func TestEnrollKeepsTokenWhenResponseInvalid(t *testing.T) {
	e := newTestEnv(t)
	token, err := e.srv.CreateEnrollToken(e.ctx, "test", time.Hour)
	if err != nil {
		t.Fatalf("create enrollment token: %v", err)
	}

	good := e.srv.dmURL
	e.srv.dmURL = "http://127.0.0.1:18223 typo/dm"
	_, err = e.srv.Enroll(e.ctx, api.EnrollRequest{Token: token, DevID: "IMEI:1"})
	e.srv.dmURL = good
	if err == nil {
		t.Fatal("Enroll returned an enrollment with an unusable server_url")
	}
	if devices, _ := e.store.ListDevices(e.ctx); len(devices) != 0 {
		t.Errorf("devices = %d after the failed enrollment, want 0", len(devices))
	}

	if _, err := e.srv.Enroll(e.ctx, api.EnrollRequest{Token: token, DevID: "IMEI:1"}); err != nil {
		t.Errorf("enroll again with the same token: %v, want success (token unused)", err)
	}
}

func TestNewRejectsSecondServerOnDataDir(t *testing.T) {
	e := newTestEnv(t)
	second, err := New(e.ctx, Config{DataDir: e.dir, Store: e.store, PublicURL: "http://127.0.0.1:1"})
	if err == nil {
		second.Close()
		t.Fatal("a second server started on a data directory in use")
	}
	for _, want := range []string{e.dir, "in use by another process", "--data"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q, want it to contain %q", err, want)
		}
	}

	e.srv.Close()
	again, err := New(e.ctx, Config{DataDir: e.dir, Store: e.store, PublicURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatalf("start after the first server closed: %v", err)
	}
	again.Close()
}

func TestNewReleasesLockOnFailure(t *testing.T) {
	e := newTestEnv(t)
	e.srv.Close()
	key := filepath.Join(e.dir, "secret.key")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatalf("chmod key: %v", err)
	}
	if _, err := New(e.ctx, Config{DataDir: e.dir, Store: e.store, PublicURL: "http://127.0.0.1:1"}); err == nil {
		t.Fatal("New accepted a world-readable key file")
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatalf("chmod key: %v", err)
	}
	srv, err := New(e.ctx, Config{DataDir: e.dir, Store: e.store, PublicURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatalf("start after a failed New: %v", err)
	}
	srv.Close()
}

// TestErrorsNameCLIAndREST checks that errors which tell the operator what
// to do next name both the virmo command or flag and the REST call.
func TestErrorsNameCLIAndREST(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, err := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{})
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	e.completeIntent(device, lock.Intent.ID)

	_, noDevice := e.srv.Lock(e.ctx, "dev-00000000", "vm1", api.LockRequest{})
	_, noSecretFlag := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{Secret: "abcdefg"})
	_, shortSecret := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true, Secret: "abc"})
	_, startLocked := e.srv.Operation(e.ctx, device, "vm1", "start")
	_, noReason := e.srv.RevealSecret(e.ctx, device, "vm1", api.RevealRequest{})
	_, badToken := e.srv.Enroll(e.ctx, api.EnrollRequest{Token: "nope", DevID: "IMEI:9"})
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"unknown device", noDevice, []string{"`virmo device list`", "GET /api/v1/devices"}},
		{"secret without user unlock", noSecretFlag, []string{"--user-unlock", `"user_unlock": true`}},
		{"short secret", shortSecret, []string{"--secret", `"secret"`}},
		{"start locked VM", startLocked, []string{"`virmo vm unlock " + device + "/vm1`",
			"POST /api/v1/devices/" + device + "/vms/vm1/unlock"}},
		{"missing reason", noReason, []string{"--reason", `{"reason":`}},
		{"unknown token", badToken, []string{"`virmo enroll-token create`",
			"POST /api/v1/enrollment-tokens"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("call succeeded, want an error")
			}
			for _, want := range tt.want {
				if !strings.Contains(tt.err.Error(), want) {
					t.Errorf("error = %q, want it to contain %q", tt.err, want)
				}
			}
		})
	}
}
