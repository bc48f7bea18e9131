package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/virmo/virmo/store"
)

// BenchmarkEnqueueCommand measures one EnqueueCommand: a BEGIN IMMEDIATE
// transaction with the counter update and the insert, committed with
// synchronous=FULL, so it includes an fsync of the WAL.
func BenchmarkEnqueueCommand(b *testing.B) {
	ctx := context.Background()
	s := openPath(b, filepath.Join(b.TempDir(), "virmo.db"))
	c := store.Command{
		DeviceID: "dev-1",
		Kind:     "exec",
		Payload:  []byte(`{"target":"./VirMO/vm1/Operations/Lock","correlator":"c1"}`),
	}

	for i := 0; b.Loop(); i++ {
		c.DeviceID = fmt.Sprintf("dev-%d", i%100)
		if _, err := s.EnqueueCommand(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListCommands measures listing the first 50 pending commands of
// one device out of 1000 queued, of which every other one is pending.
func BenchmarkListCommands(b *testing.B) {
	ctx := context.Background()
	s := openPath(b, filepath.Join(b.TempDir(), "virmo.db"))

	err := s.InTx(ctx, func(q store.Queries) error {
		for i := range 1000 {
			c, err := q.EnqueueCommand(ctx, store.Command{
				DeviceID: "dev-1",
				Kind:     "exec",
				Payload:  []byte(`{"target":"./VirMO/vm1/Operations/Lock"}`),
			})
			if err != nil {
				return err
			}
			if i%2 == 0 {
				c.State = store.CommandDone
				if err := q.UpdateCommand(ctx, c); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	for b.Loop() {
		cmds, err := s.ListCommands(ctx, "dev-1", 50, store.CommandPending)
		if err != nil {
			b.Fatal(err)
		}
		if len(cmds) != 50 {
			b.Fatalf("listed %d commands, want 50", len(cmds))
		}
	}
}
