package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/store/sqlite"
)

func TestKeyFileCreatedPrivate(t *testing.T) {
	e := newTestEnv(t)
	info, err := os.Stat(filepath.Join(e.dir, "secret.key"))
	if err != nil {
		t.Fatalf("stat key file: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", perm)
	}
	if info.Size() != 32 {
		t.Errorf("key file size = %d, want 32", info.Size())
	}
}

func TestKeyFileReadableRejected(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(path, bytes.Repeat([]byte{7}, 32), 0o644); err != nil {
		t.Fatalf("write key: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatalf("chmod key: %v", err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer st.Close()

	srv, err := New(ctx, Config{DataDir: dir, Store: st, PublicURL: "http://127.0.0.1:1"})
	if err == nil {
		srv.Close()
		t.Fatal("New accepted a world-readable key file")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("error = %q, want the path and the chmod 600 fix", err)
	}
}

func TestKeyFileSurvivesRestart(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	e.completeIntent(device, lock.Intent.ID)
	e.srv.Close()

	again, err := New(e.ctx, Config{DataDir: e.dir, Store: e.store, PublicURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer again.Close()
	got, err := again.RevealSecret(e.ctx, device, "vm1", api.RevealRequest{Reason: "restart"})
	if err != nil {
		t.Fatalf("reveal after restart: %v", err)
	}
	if got.Secret != lock.Secret {
		t.Error("secret after restart differs")
	}
}

func TestEnsureAdminToken(t *testing.T) {
	e := newTestEnv(t)
	first, err := e.srv.EnsureAdminToken(e.ctx)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	second, err := e.srv.EnsureAdminToken(e.ctx)
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	if first == "" || second != first {
		t.Errorf("tokens %q and %q, want one stable token", first, second)
	}

	info, err := os.Stat(filepath.Join(e.dir, "admin.token"))
	if err != nil {
		t.Fatalf("stat token file: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("token file mode = %04o, want 0600", perm)
	}
	stored, err := e.store.GetSetting(e.ctx, settingAdminTokenHash)
	if err != nil {
		t.Fatalf("get setting: %v", err)
	}
	if string(stored) != hashToken(first) {
		t.Error("setting does not hold the token's SHA-256")
	}
	if bytes.Contains(e.databaseBytes(), []byte(first)) {
		t.Error("database contains the admin token in clear")
	}
}

func TestAdminTokenFileMismatch(t *testing.T) {
	e := newTestEnv(t)
	if _, err := e.srv.EnsureAdminToken(e.ctx); err != nil {
		t.Fatalf("create token: %v", err)
	}
	path := filepath.Join(e.dir, "admin.token")
	if err := os.WriteFile(path, []byte("other\n"), 0o600); err != nil {
		t.Fatalf("overwrite token file: %v", err)
	}
	_, err := e.srv.EnsureAdminToken(e.ctx)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error = %v, want one naming %s", err, path)
	}
}

func TestEnrollmentSingleUse(t *testing.T) {
	e := newTestEnv(t)
	token, err := e.srv.CreateEnrollToken(e.ctx, "laptop", time.Hour)
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	first, err := e.srv.Enroll(e.ctx, api.EnrollRequest{Token: token, DevID: "IMEI:1", Name: "one"})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	_, err = e.srv.Enroll(e.ctx, api.EnrollRequest{Token: token, DevID: "IMEI:2"})
	apiErr := wantStatus(t, err, http.StatusUnauthorized)
	if !strings.Contains(apiErr.Message, "already used") {
		t.Errorf("message = %q, want it to say the token was used", apiErr.Message)
	}
	if _, err := e.store.GetDeviceByDevID(e.ctx, "IMEI:2"); err == nil {
		t.Error("second enrollment created a device")
	}

	if !strings.HasPrefix(first.DeviceID, "dev-") || len(first.DeviceID) != 12 {
		t.Errorf("device ID = %q, want dev- and 8 hex digits", first.DeviceID)
	}
	if first.ServerURL != "http://127.0.0.1:8080/dm" || first.ServerID != "virmo" {
		t.Errorf("account = %s %s, want the /dm URL and ServerID virmo", first.ServerURL, first.ServerID)
	}
	for name, nonce := range map[string]string{"client": first.ClientNonce, "server": first.ServerNonce} {
		if b, err := base64.StdEncoding.DecodeString(nonce); err != nil || len(b) != 16 {
			t.Errorf("%s nonce %q is not 16 bytes of base64", name, nonce)
		}
	}
	db := e.databaseBytes()
	for _, password := range []string{first.ClientPassword, first.ServerPassword, token} {
		if bytes.Contains(db, []byte(password)) {
			t.Error("database contains a password or token in clear")
		}
	}
	if !contains(e.auditActions(), "device.enroll") {
		t.Errorf("audit has no device.enroll: %v", e.auditActions())
	}
}

func TestEnrollmentPasswordsSealed(t *testing.T) {
	e := newTestEnv(t)
	token, _ := e.srv.CreateEnrollToken(e.ctx, "", 0)
	got, err := e.srv.Enroll(e.ctx, api.EnrollRequest{Token: token, DevID: "IMEI:1"})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	d, err := e.store.GetDevice(e.ctx, got.DeviceID)
	if err != nil {
		t.Fatalf("get device: %v", err)
	}
	plain, err := e.srv.sealer.Open(d.ClientSecretSealed)
	if err != nil || string(plain) != got.ClientPassword {
		t.Errorf("sealed client password does not open to the returned one (err %v)", err)
	}
	plain, err = e.srv.sealer.Open(d.ServerSecretSealed)
	if err != nil || string(plain) != got.ServerPassword {
		t.Errorf("sealed server password does not open to the returned one (err %v)", err)
	}
}

func TestEnrollmentRejections(t *testing.T) {
	tests := []struct {
		name   string
		req    func(token string) api.EnrollRequest
		expire bool
		status int
		want   string
	}{
		{"unknown token", func(string) api.EnrollRequest {
			return api.EnrollRequest{Token: "nope", DevID: "IMEI:1"}
		}, false, http.StatusUnauthorized, "unknown enrollment token"},
		{"expired token", func(tok string) api.EnrollRequest {
			return api.EnrollRequest{Token: tok, DevID: "IMEI:1"}
		}, true, http.StatusUnauthorized, "expired"},
		{"missing token", func(string) api.EnrollRequest {
			return api.EnrollRequest{DevID: "IMEI:1"}
		}, false, http.StatusBadRequest, "token is missing"},
		{"missing devid", func(tok string) api.EnrollRequest {
			return api.EnrollRequest{Token: tok}
		}, false, http.StatusBadRequest, "devid is missing"},
		{"control character", func(tok string) api.EnrollRequest {
			return api.EnrollRequest{Token: tok, DevID: "IMEI\n1"}
		}, false, http.StatusBadRequest, `"IMEI\n1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			token, _ := e.srv.CreateEnrollToken(e.ctx, "", time.Hour)
			if tt.expire {
				e.clock.now = e.clock.now.Add(time.Hour)
			}
			_, err := e.srv.Enroll(e.ctx, tt.req(token))
			apiErr := wantStatus(t, err, tt.status)
			if !strings.Contains(apiErr.Message, tt.want) {
				t.Errorf("message = %q, want it to contain %q", apiErr.Message, tt.want)
			}
		})
	}
}

func TestReenrollKeepsDeviceID(t *testing.T) {
	e := newTestEnv(t)
	first := e.enroll("IMEI:1")
	second := e.enroll("IMEI:1")
	if second != first {
		t.Errorf("re-enrolled device ID = %s, want %s", second, first)
	}
	if !contains(e.auditActions(), "device.reenroll") {
		t.Errorf("audit has no device.reenroll: %v", e.auditActions())
	}
}

func TestEnrollTokenTTLValidation(t *testing.T) {
	e := newTestEnv(t)
	bad := []time.Duration{-time.Second, time.Millisecond, 999 * time.Millisecond,
		1500 * time.Millisecond, time.Hour + time.Nanosecond, MaxEnrollTokenTTL + time.Second}
	for _, ttl := range bad {
		_, err := e.srv.CreateEnrollToken(e.ctx, "", ttl)
		apiErr := wantStatus(t, err, http.StatusBadRequest)
		if !strings.Contains(apiErr.Message, ttl.String()) {
			t.Errorf("message = %q, want it to name the lifetime %s", apiErr.Message, ttl)
		}
	}
	for _, ttl := range []time.Duration{0, time.Second, 90 * time.Minute, MaxEnrollTokenTTL} {
		if _, err := e.srv.CreateEnrollToken(e.ctx, "", ttl); err != nil {
			t.Errorf("create token with lifetime %s: %v", ttl, err)
		}
	}
}

func TestPruneKeepsPendingCommands(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	done, _ := e.srv.Operation(e.ctx, device, "vm1", "stop")
	e.completeIntent(device, done.Intent.ID)
	pending, _ := e.srv.Operation(e.ctx, device, "vm1", "pause")

	e.clock.now = e.clock.now.Add(DefaultCommandRetention + time.Minute)
	if err := e.srv.Prune(e.ctx); err != nil {
		t.Fatalf("prune: %v", err)
	}
	if n := len(e.intentCommands(device, done.Intent.ID)); n != 0 {
		t.Errorf("finished commands left = %d, want 0", n)
	}
	cmds := e.intentCommands(device, pending.Intent.ID)
	if len(cmds) != 1 || cmds[0].State != store.CommandPending {
		t.Errorf("pending commands = %+v, want the one pending command", cmds)
	}
}
