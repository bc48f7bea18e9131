package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/virmo/virmo/store"
)

var errAbort = errors.New("storetest: abort the transaction")

// writeAll makes one write of every kind that InTx must commit or roll back
// together.
func writeAll(ctx context.Context, q store.Queries) error {
	steps := []func() error{
		func() error { return q.CreateDevice(ctx, sampleDevice("dev-tx")) },
		func() error { return q.PutVM(ctx, sampleVM("dev-1", "vm-tx")) },
		func() error {
			_, err := q.EnqueueCommand(ctx, sampleCommand("dev-1", 9))
			return err
		},
		func() error { return q.CreateIntent(ctx, sampleIntent("intent-tx", 0)) },
		func() error {
			return q.PutSecret(ctx, store.Secret{ID: "secret-tx", Sealed: []byte{1}, CreatedAt: at(0)})
		},
		func() error {
			return q.PutSession(ctx, store.Session{DeviceID: "dev-1", SessionID: "tx", UpdatedAt: at(0)})
		},
		func() error { return q.UseEnrollToken(ctx, "h-tx", "dev-tx", at(1)) },
		func() error { return q.PutSetting(ctx, "tx.key", []byte("v")) },
		func() error {
			_, err := q.AppendAudit(ctx, store.AuditEntry{Time: at(0), Action: "tx"})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// prepareTx stores one command on dev-1 and an unused token h-tx.
func prepareTx(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.EnqueueCommand(ctx, sampleCommand("dev-1", 1))
	must(t, "enqueue command", err)
	tok := store.EnrollToken{Hash: "h-tx", CreatedAt: at(0), ExpiresAt: at(60)}
	must(t, "create token", s.CreateEnrollToken(ctx, tok))
}

// checkWritten reports each write of writeAll whose presence differs from
// want.
func checkWritten(t *testing.T, s store.Store, want bool) {
	t.Helper()
	ctx := context.Background()

	cmds, err := s.ListCommands(ctx, "dev-1", 0)
	must(t, "list commands", err)
	audit, err := s.ListAudit(ctx, 0, 0)
	must(t, "list audit", err)

	_, errDevice := s.GetDevice(ctx, "dev-tx")
	_, errVM := s.GetVM(ctx, "dev-1", "vm-tx")
	_, errIntent := s.GetIntent(ctx, "intent-tx")
	_, errSecret := s.GetSecret(ctx, "secret-tx")
	_, errSession := s.GetSession(ctx, "dev-1", "tx")
	_, errSetting := s.GetSetting(ctx, "tx.key")
	errToken := s.UseEnrollToken(ctx, "h-tx", "dev-other", at(2))

	checks := []struct {
		name    string
		written bool
	}{
		{"device", errDevice == nil},
		{"vm", errVM == nil},
		{"command", len(cmds) == 2},
		{"intent", errIntent == nil},
		{"secret", errSecret == nil},
		{"session", errSession == nil},
		{"token use", errors.Is(errToken, store.ErrTokenUsed)},
		{"setting", errSetting == nil},
		{"audit", len(audit) == 1},
	}
	for _, c := range checks {
		if c.written != want {
			t.Errorf("%s written = %v, want %v", c.name, c.written, want)
		}
	}
}

func testInTxCommit(t *testing.T, s store.Store) {
	ctx := context.Background()
	prepareTx(t, s)

	err := s.InTx(ctx, func(q store.Queries) error { return writeAll(ctx, q) })
	must(t, "InTx", err)
	checkWritten(t, s, true)
}

func testInTxRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	prepareTx(t, s)

	err := s.InTx(ctx, func(q store.Queries) error {
		if err := writeAll(ctx, q); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx error = %v, want %v", err, errAbort)
	}
	checkWritten(t, s, false)

	// The rolled-back command's Seq is free again.
	c, err := s.EnqueueCommand(ctx, sampleCommand("dev-1", 2))
	must(t, "enqueue command", err)
	if c.Seq != 2 {
		t.Errorf("Seq after rollback = %d, want 2", c.Seq)
	}
}

func testInTxPanic(t *testing.T, s store.Store) {
	ctx := context.Background()
	prepareTx(t, s)

	recovered := func() (r any) {
		defer func() { r = recover() }()
		_ = s.InTx(ctx, func(q store.Queries) error {
			if err := writeAll(ctx, q); err != nil {
				return err
			}
			panic(errAbort)
		})
		return nil
	}()
	if recovered != errAbort {
		t.Fatalf("InTx panicked with %v, want %v", recovered, errAbort)
	}
	checkWritten(t, s, false)

	// The store still works after the panic.
	_, err := s.EnqueueCommand(ctx, sampleCommand("dev-1", 2))
	must(t, "enqueue after panic", err)
}

func testInTxVisibleInside(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, "create device", s.CreateDevice(ctx, sampleDevice("dev-1")))

	err := s.InTx(ctx, func(q store.Queries) error {
		want := sampleDevice("dev-1")
		want.Name = "renamed in tx"
		must(t, "update device", q.UpdateDevice(ctx, want))
		got, err := q.GetDevice(ctx, "dev-1")
		must(t, "get device in tx", err)
		checkEqual(t, "device in tx", got, want)

		for i := range 3 {
			c, err := q.EnqueueCommand(ctx, sampleCommand("dev-1", i))
			must(t, "enqueue in tx", err)
			if c.Seq != int64(i+1) {
				t.Errorf("Seq in tx = %d, want %d", c.Seq, i+1)
			}
		}
		cmds, err := q.ListCommands(ctx, "dev-1", 0)
		must(t, "list commands in tx", err)
		if len(cmds) != 3 {
			t.Errorf("ListCommands in tx returned %d, want 3", len(cmds))
		}
		return nil
	})
	must(t, "InTx", err)

	cmds, err := s.ListCommands(ctx, "dev-1", 0)
	must(t, "list commands", err)
	if len(cmds) != 3 {
		t.Errorf("ListCommands after commit returned %d, want 3", len(cmds))
	}
}
