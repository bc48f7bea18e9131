package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/store/sqlite"
	"github.com/virmo/virmo/store/storetest"
)

// openPath opens the store at path and closes it when the test ends.
func openPath(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "virmo.db"))
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		return s
	})
}

// TestReopenKeepsData writes one row of every kind, closes the store and
// checks that a new Store on the same file reads them all back.
func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "virmo.db")
	now := time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC)

	dev := store.Device{
		ID: "dev-1", DevID: "IMEI:1", Name: "phone", ClientNonce: []byte{0, 1},
		DevInfo: map[string]string{"Man": "Example"}, CreatedAt: now,
	}
	vm := store.VM{DeviceID: "dev-1", Name: "vm1", State: "running", LockState: store.LockLocked,
		LockGeneration: 3, UserUnlock: true, UpdatedAt: now}
	intent := store.Intent{ID: "intent-1", DeviceID: "dev-1", VM: "vm1", Kind: "lock",
		State: store.IntentDone, CreatedAt: now}
	secret := store.Secret{ID: "secret-1", DeviceID: "dev-1", VM: "vm1",
		Sealed: []byte("sealed"), CreatedAt: now}
	session := store.Session{DeviceID: "dev-1", SessionID: "7", State: []byte("s"), UpdatedAt: now}

	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	writes := []struct {
		name string
		run  func() error
	}{
		{"create device", func() error { return s.CreateDevice(ctx, dev) }},
		{"put vm", func() error { return s.PutVM(ctx, vm) }},
		{"enqueue", func() error {
			_, err := s.EnqueueCommand(ctx, store.Command{DeviceID: "dev-1", Kind: "exec"})
			return err
		}},
		{"create intent", func() error { return s.CreateIntent(ctx, intent) }},
		{"put secret", func() error { return s.PutSecret(ctx, secret) }},
		{"put session", func() error { return s.PutSession(ctx, session) }},
		{"create token", func() error {
			return s.CreateEnrollToken(ctx, store.EnrollToken{Hash: "h", ExpiresAt: now.Add(time.Hour)})
		}},
		{"use token", func() error { return s.UseEnrollToken(ctx, "h", "dev-1", now) }},
		{"put setting", func() error { return s.PutSetting(ctx, "k", []byte("v")) }},
		{"append audit", func() error {
			_, err := s.AppendAudit(ctx, store.AuditEntry{Time: now, Action: "vm.lock"})
			return err
		}},
	}
	for _, w := range writes {
		if err := w.run(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}

	s = openPath(t, path)
	gotDev, err := s.GetDevice(ctx, "dev-1")
	if err != nil || gotDev.DevInfo["Man"] != "Example" || !gotDev.CreatedAt.Equal(now) {
		t.Errorf("device after reopen = %+v, %v", gotDev, err)
	}
	gotVM, err := s.GetVM(ctx, "dev-1", "vm1")
	if err != nil || gotVM != vm {
		t.Errorf("vm after reopen = %+v, %v, want %+v", gotVM, err, vm)
	}
	if _, err := s.GetIntent(ctx, "intent-1"); err != nil {
		t.Errorf("intent after reopen: %v", err)
	}
	if got, err := s.GetSecret(ctx, "secret-1"); err != nil || string(got.Sealed) != "sealed" {
		t.Errorf("secret after reopen = %+v, %v", got, err)
	}
	if got, err := s.GetSession(ctx, "dev-1", "7"); err != nil || string(got.State) != "s" {
		t.Errorf("session after reopen = %+v, %v", got, err)
	}
	if err := s.UseEnrollToken(ctx, "h", "dev-2", now); !errors.Is(err, store.ErrTokenUsed) {
		t.Errorf("token after reopen: error = %v, want ErrTokenUsed", err)
	}
	if got, err := s.GetSetting(ctx, "k"); err != nil || string(got) != "v" {
		t.Errorf("setting after reopen = %q, %v", got, err)
	}

	c, err := s.EnqueueCommand(ctx, store.Command{DeviceID: "dev-1", Kind: "exec"})
	if err != nil || c.Seq != 2 {
		t.Errorf("enqueue after reopen: Seq %d, %v, want Seq 2", c.Seq, err)
	}
	e, err := s.AppendAudit(ctx, store.AuditEntry{Time: now, Action: "vm.unlock"})
	if err != nil || e.Seq != 2 {
		t.Errorf("append audit after reopen: Seq %d, %v, want Seq 2", e.Seq, err)
	}
}

// TestTwoStoresOneFile runs two Stores on one file, as two processes
// would, and checks that concurrent enqueues wait for the file lock instead
// of failing with SQLITE_BUSY and still get gap-free Seqs.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "virmo.db")
	stores := []*sqlite.Store{openPath(t, path), openPath(t, path)}

	const perWorker = 20
	var wg sync.WaitGroup
	errs := make(chan error, 4*perWorker)
	for w := range 4 {
		s := stores[w%len(stores)]
		wg.Go(func() {
			for range perWorker {
				_, err := s.EnqueueCommand(ctx, store.Command{DeviceID: "dev-1", Kind: "exec"})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("enqueue: %v", err)
		}
	}

	cmds, err := stores[0].ListCommands(ctx, "dev-1", 0)
	if err != nil {
		t.Fatalf("list commands: %v", err)
	}
	if len(cmds) != 4*perWorker {
		t.Errorf("stored %d commands, want %d", len(cmds), 4*perWorker)
	}
	for i, c := range cmds {
		if c.Seq != int64(i+1) {
			t.Fatalf("command %d has Seq %d, want %d", i, c.Seq, i+1)
		}
	}
}

func TestOpenRejectsBadPath(t *testing.T) {
	tests := []string{"", "db?mode=ro", filepath.Join(t.TempDir(), "missing-dir", "virmo.db")}
	for _, path := range tests {
		s, err := sqlite.Open(context.Background(), path)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}
