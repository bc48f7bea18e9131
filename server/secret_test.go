package server

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/server/dmsession"
	"github.com/virmo/virmo/store"
)

// databaseBytes returns the bytes of the SQLite database and its WAL.
func (e *testEnv) databaseBytes() []byte {
	e.t.Helper()
	files, err := filepath.Glob(e.dbPath + "*")
	if err != nil {
		e.t.Fatalf("glob database files: %v", err)
	}
	var all []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			e.t.Fatalf("read %s: %v", f, err)
		}
		all = append(all, data...)
	}
	return all
}

func TestSecretSealedInDatabase(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	resp, err := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	authData, digest, err := e.srv.Hooks().UnlockAuth(e.ctx, e.intent(resp.Intent.ID).SecretID)
	if err != nil {
		t.Fatalf("unlock auth: %v", err)
	}
	e.completeIntent(device, resp.Intent.ID)
	if _, err := e.srv.RevealSecret(e.ctx, device, "vm1", api.RevealRequest{Reason: "test"}); err != nil {
		t.Fatalf("reveal: %v", err)
	}

	db := e.databaseBytes()
	if len(db) == 0 {
		t.Fatal("database files are empty")
	}
	forbidden := map[string][]byte{
		"secret":         []byte(resp.Secret),
		"digest":         digest,
		"digest base64":  []byte(base64.StdEncoding.EncodeToString(digest)),
		"authdata":       authData,
		"authdata b64":   []byte(base64.StdEncoding.EncodeToString(authData)),
		"secret no dash": []byte(strings.ReplaceAll(resp.Secret, "-", "")),
	}
	for name, value := range forbidden {
		if bytes.Contains(db, value) {
			t.Errorf("database contains the %s in clear", name)
		}
		if strings.Contains(e.logs.String(), string(value)) {
			t.Errorf("log contains the %s", name)
		}
	}
}

func TestUnlockAuthDigest(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	resp, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true, Secret: "1234"})

	authData, digest, err := e.srv.Hooks().UnlockAuth(e.ctx, e.intent(resp.Intent.ID).SecretID)
	if err != nil {
		t.Fatalf("unlock auth: %v", err)
	}
	if len(authData) != 16 {
		t.Errorf("AuthData is %d bytes, want 16", len(authData))
	}
	// The §3.1 vector of the spec notes: secret 1234, AuthData 00..ff.
	vector := sealedVector(t, e, "1234", mustHex(t, "00112233445566778899aabbccddeeff"))
	_, vectorDigest, err := e.srv.Hooks().UnlockAuth(e.ctx, vector)
	if err != nil {
		t.Fatalf("unlock auth of the vector: %v", err)
	}
	want := "1wA3ckGT4hOEcyZ/en0+ZwjLPgg/POzGTQ8Ofk+DU94="
	if got := base64.StdEncoding.EncodeToString(vectorDigest); got != want {
		t.Errorf("digest = %s, want %s", got, want)
	}
	if bytes.Equal(digest, vectorDigest) {
		t.Error("random AuthData gave the digest of the fixed vector")
	}
}

func TestSecretDestroyedOnUnlock(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	e.completeIntent(device, lock.Intent.ID)
	unlock, _ := e.srv.Unlock(e.ctx, device, "vm1")
	e.completeIntent(device, unlock.Intent.ID)

	sec, err := e.store.GetSecret(e.ctx, e.intent(lock.Intent.ID).SecretID)
	if err != nil {
		t.Fatalf("get secret: %v", err)
	}
	if sec.DestroyedAt.IsZero() || len(sec.Sealed) != 0 {
		t.Errorf("secret not destroyed: destroyed_at %v, %d sealed bytes", sec.DestroyedAt, len(sec.Sealed))
	}
	_, err = e.srv.RevealSecret(e.ctx, device, "vm1", api.RevealRequest{Reason: "late"})
	wantStatus(t, err, http.StatusNotFound)
}

func TestRevealAudited(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	e.completeIntent(device, lock.Intent.ID)

	got, err := e.srv.RevealSecret(e.ctx, device, "vm1", api.RevealRequest{Reason: "  ticket 42 "})
	if err != nil {
		t.Fatalf("reveal: %v", err)
	}
	if got.Secret != lock.Secret {
		t.Errorf("revealed secret differs from the one returned by lock")
	}

	entries, err := e.store.ListAudit(e.ctx, 0, 0)
	if err != nil {
		t.Fatalf("list audit: %v", err)
	}
	found := false
	for _, entry := range entries {
		if strings.Contains(entry.Detail, lock.Secret) {
			t.Errorf("audit entry %s contains the secret", entry.Action)
		}
		if entry.Action == "secret.reveal" && strings.Contains(entry.Detail, `reason="ticket 42"`) &&
			entry.Target == device+"/vm1" {
			found = true
		}
	}
	if !found {
		t.Errorf("no secret.reveal entry with the reason; actions: %v", e.auditActions())
	}
}

func TestRevealBadRequests(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{})
	e.completeIntent(device, lock.Intent.ID)

	for _, reason := range []string{"", "   ", "\t\n"} {
		_, err := e.srv.RevealSecret(e.ctx, device, "vm1", api.RevealRequest{Reason: reason})
		wantStatus(t, err, http.StatusBadRequest)
	}
	_, err := e.srv.RevealSecret(e.ctx, device, "vm1", api.RevealRequest{Reason: "\x01"})
	wantStatus(t, err, http.StatusBadRequest)
	_, err = e.srv.RevealSecret(e.ctx, device, "vm1", api.RevealRequest{Reason: "no user unlock"})
	wantStatus(t, err, http.StatusNotFound)
}

func TestUserUnlockAlert(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	e.completeIntent(device, lock.Intent.ID)

	e.alert(device, dmsession.Alert{Type: AlertUserUnlock, Source: "./VirMO/vm1/LockParams",
		Target: "./VirMO/vm1", Data: "1200", Mark: "informational"})

	if got := e.vm(device, "vm1").LockState; got != store.LockUnlocked {
		t.Errorf("lock state = %q, want unlocked", got)
	}
	sec, _ := e.store.GetSecret(e.ctx, e.intent(lock.Intent.ID).SecretID)
	if sec.DestroyedAt.IsZero() {
		t.Error("secret not destroyed after user unlock")
	}
	if !contains(e.auditActions(), "vm.user_unlock") {
		t.Errorf("audit has no vm.user_unlock: %v", e.auditActions())
	}
}

func TestUserUnlockCompletesPendingUnlock(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	e.completeIntent(device, lock.Intent.ID)
	unlock, _ := e.srv.Unlock(e.ctx, device, "vm1")

	e.alert(device, dmsession.Alert{Type: AlertUserUnlock, Source: "./VirMO/vm1/LockParams", Data: "1200"})

	if got := e.intent(unlock.Intent.ID).State; got != store.IntentDone {
		t.Errorf("unlock intent = %q, want done", got)
	}
	for _, c := range e.intentCommands(device, unlock.Intent.ID) {
		if c.State != store.CommandCancelled {
			t.Errorf("unlock command %d = %q, want cancelled", c.Seq, c.State)
		}
	}
}

func TestUserUnlockExhausted(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	e.completeIntent(device, lock.Intent.ID)

	e.alert(device, dmsession.Alert{Type: AlertUserUnlock, Source: "./VirMO/vm1/LockParams",
		Data: "1404", Mark: "critical"})

	v := e.vm(device, "vm1")
	if v.LockState != store.LockLocked {
		t.Errorf("lock state = %q, want locked", v.LockState)
	}
	if v.LockError != "user unlock attempts exhausted" {
		t.Errorf("lock error = %q, want user unlock attempts exhausted", v.LockError)
	}
	if !contains(e.auditActions(), "vm.user_unlock_exhausted") {
		t.Errorf("audit has no vm.user_unlock_exhausted: %v", e.auditActions())
	}
}

func TestTamperAlertAudited(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	e.alert(device, dmsession.Alert{Type: AlertStateChange, Source: "./VirMO/vm1/State",
		Data: "30", Mark: "critical"})

	if got := e.vm(device, "vm1").State; got != "paused" {
		t.Errorf("state = %q, want paused", got)
	}
	if !contains(e.auditActions(), "vm.tamper") {
		t.Errorf("audit has no vm.tamper: %v", e.auditActions())
	}
}

func TestAlertBadInputIgnored(t *testing.T) {
	alerts := []dmsession.Alert{
		{Type: AlertUserUnlock, Source: "./VirMO/nope/LockParams", Data: "1200"},
		{Type: AlertUserUnlock, Source: "./VirMO/vm1/LockParams", Data: "abc"},
		{Type: AlertStateChange, Source: "", Target: "", Data: "20"},
		{Type: "urn:example:other", Source: "./VirMO/vm1", Data: "1"},
	}
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	for _, a := range alerts {
		e.alert(device, a)
	}
	v := e.vm(device, "vm1")
	if v.State != "running" || v.LockState != store.LockUnlocked {
		t.Errorf("VM = %s/%s, want running/unlocked", v.State, v.LockState)
	}
}

func TestInventoryKeepsPendingLock(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	if _, err := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{}); err != nil {
		t.Fatalf("lock: %v", err)
	}
	e.observe(device, dmsession.ObservedVM{Name: "vm1", State: 20, LockState: 0})
	if got := e.vm(device, "vm1").LockState; got != store.LockPending {
		t.Errorf("lock state = %q, want lock_pending while the intent is pending", got)
	}
}

func TestInventoryAdoptsObservedLock(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	e.observe(device, dmsession.ObservedVM{Name: "vm1", State: 30, LockState: 1, LockGeneration: 4})

	v := e.vm(device, "vm1")
	if v.LockState != store.LockLocked {
		t.Errorf("lock state = %q, want locked", v.LockState)
	}
	if v.LockGeneration != 4 {
		t.Errorf("lock generation = %d, want 4", v.LockGeneration)
	}
	if !contains(e.auditActions(), "vm.lock_state_observed") {
		t.Errorf("audit has no vm.lock_state_observed: %v", e.auditActions())
	}
}

func TestInventoryDeletesMissingVM(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	e.observe(device, dmsession.ObservedVM{Name: "vm1"}, dmsession.ObservedVM{Name: "vm2"})
	lock, _ := e.srv.Lock(e.ctx, device, "vm2", api.LockRequest{UserUnlock: true})

	e.observe(device, dmsession.ObservedVM{Name: "vm1"})

	if _, err := e.store.GetVM(e.ctx, device, "vm2"); err == nil {
		t.Error("vm2 still stored after it left the inventory")
	}
	if got := e.intent(lock.Intent.ID).State; got != store.IntentFailed {
		t.Errorf("intent of the missing VM = %q, want failed", got)
	}
	sec, _ := e.store.GetSecret(e.ctx, e.intent(lock.Intent.ID).SecretID)
	if sec.DestroyedAt.IsZero() {
		t.Error("secret of the missing VM not destroyed")
	}
}

// sealedVector stores a secret with fixed AuthData and returns its ID.
func sealedVector(t *testing.T, e *testEnv, secret string, authData []byte) string {
	t.Helper()
	sealed, err := e.srv.sealer.Seal(append(append([]byte{}, authData...), secret...))
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	id := "sec-vector"
	if err := e.store.PutSecret(e.ctx, store.Secret{ID: id, DeviceID: "d", VM: "v", Sealed: sealed}); err != nil {
		t.Fatalf("put secret: %v", err)
	}
	return id
}
