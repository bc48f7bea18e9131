package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/virmo/virmo/store"
)

func sampleCommand(deviceID string, n int) store.Command {
	return store.Command{
		DeviceID:  deviceID,
		IntentID:  fmt.Sprintf("intent-%d", n),
		Kind:      "exec",
		Payload:   []byte(fmt.Sprintf(`{"target":"./VirMO/vm%d/Operations/Lock"}`, n)),
		State:     store.CommandPending,
		CreatedAt: at(n),
		UpdatedAt: at(n),
	}
}

// seqs returns the Seq of each command, in order.
func seqs(cmds []store.Command) []int64 {
	out := make([]int64, 0, len(cmds))
	for _, c := range cmds {
		out = append(out, c.Seq)
	}
	return out
}

func testEnqueueAssignsSeq(t *testing.T, s store.Store) {
	ctx := context.Background()
	tests := []struct {
		device string
		want   int64
	}{
		{"dev-a", 1},
		{"dev-a", 2},
		{"dev-b", 1},
		{"dev-a", 3},
		{"dev-b", 2},
	}
	for i, tc := range tests {
		c := sampleCommand(tc.device, i)
		c.Seq = 99
		got, err := s.EnqueueCommand(ctx, c)
		must(t, "enqueue command", err)

		want := c
		want.Seq = tc.want
		checkEqual(t, fmt.Sprintf("enqueue %d on %s", i, tc.device), got, want)
	}

	c := sampleCommand("dev-c", 0)
	c.State = ""
	got, err := s.EnqueueCommand(ctx, c)
	must(t, "enqueue command without state", err)
	if got.State != store.CommandPending {
		t.Errorf("enqueued State = %q, want %q", got.State, store.CommandPending)
	}
	stored, err := s.GetCommand(ctx, "dev-c", got.Seq)
	must(t, "get command", err)
	if stored.State != store.CommandPending {
		t.Errorf("stored State = %q, want %q", stored.State, store.CommandPending)
	}
}

// testEnqueueConcurrent enqueues from many goroutines on two devices, some
// in transactions of two commands, and checks that each device's Seqs are
// 1 to N with no gap and no duplicate.
func testEnqueueConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	const workers, rounds = 8, 15
	devices := []string{"dev-a", "dev-b"}

	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				device := devices[(w+r)%len(devices)]
				if r%3 == 0 {
					errs <- s.InTx(ctx, func(q store.Queries) error {
						for range 2 {
							if _, err := q.EnqueueCommand(ctx, sampleCommand(device, r)); err != nil {
								return err
							}
						}
						return nil
					})
					continue
				}
				_, err := s.EnqueueCommand(ctx, sampleCommand(device, r))
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent enqueue: %v", err)
		}
	}

	total := 0
	for _, device := range devices {
		cmds, err := s.ListCommands(ctx, device, 0)
		must(t, "list commands", err)
		total += len(cmds)
		for i, c := range cmds {
			if c.Seq != int64(i+1) {
				t.Errorf("%s: command %d has Seq %d, want %d", device, i, c.Seq, i+1)
				break
			}
		}
	}
	// A third of the rounds enqueue two commands.
	want := workers * (rounds + rounds/3)
	if total != want {
		t.Errorf("stored %d commands, want %d", total, want)
	}
}

func testGetCommand(t *testing.T, s store.Store) {
	ctx := context.Background()
	want, err := s.EnqueueCommand(ctx, sampleCommand("dev-1", 1))
	must(t, "enqueue command", err)

	got, err := s.GetCommand(ctx, "dev-1", want.Seq)
	must(t, "get command", err)
	checkEqual(t, "GetCommand", got, want)

	_, err = s.GetCommand(ctx, "dev-1", 2)
	checkErr(t, "GetCommand unknown seq", err, store.ErrNotFound, "dev-1")
	_, err = s.GetCommand(ctx, "dev-missing", 1)
	checkErr(t, "GetCommand unknown device", err, store.ErrNotFound, "dev-missing")
}

func testListCommandsFilter(t *testing.T, s store.Store) {
	ctx := context.Background()
	states := []store.CommandState{
		store.CommandDone, store.CommandPending, store.CommandSent,
		store.CommandPending, store.CommandFailed, store.CommandCancelled,
		store.CommandPending,
	}
	for i, state := range states {
		c, err := s.EnqueueCommand(ctx, sampleCommand("dev-1", i))
		must(t, "enqueue command", err)
		c.State = state
		must(t, "update command", s.UpdateCommand(ctx, c))
	}
	_, err := s.EnqueueCommand(ctx, sampleCommand("dev-2", 0))
	must(t, "enqueue command", err)

	tests := []struct {
		name   string
		device string
		limit  int
		states []store.CommandState
		want   []int64
	}{
		{"all", "dev-1", 0, nil, []int64{1, 2, 3, 4, 5, 6, 7}},
		{"pending", "dev-1", 0, []store.CommandState{store.CommandPending}, []int64{2, 4, 7}},
		{"pending and sent", "dev-1", 0,
			[]store.CommandState{store.CommandSent, store.CommandPending}, []int64{2, 3, 4, 7}},
		{"terminal", "dev-1", 0,
			[]store.CommandState{store.CommandDone, store.CommandFailed, store.CommandCancelled},
			[]int64{1, 5, 6}},
		{"limit", "dev-1", 3, nil, []int64{1, 2, 3}},
		{"pending limit", "dev-1", 2, []store.CommandState{store.CommandPending}, []int64{2, 4}},
		{"limit above count", "dev-1", 100, []store.CommandState{store.CommandSent}, []int64{3}},
		{"other device", "dev-2", 0, nil, []int64{1}},
		{"unknown device", "dev-missing", 0, nil, []int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmds, err := s.ListCommands(ctx, tc.device, tc.limit, tc.states...)
			must(t, "list commands", err)
			if got := seqs(cmds); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("ListCommands Seqs = %v, want %v", got, tc.want)
			}
			for _, c := range cmds {
				if c.DeviceID != tc.device {
					t.Errorf("command %d has DeviceID %q, want %q", c.Seq, c.DeviceID, tc.device)
				}
			}
		})
	}
}

func testUpdateCommand(t *testing.T, s store.Store) {
	ctx := context.Background()
	orig, err := s.EnqueueCommand(ctx, sampleCommand("dev-1", 1))
	must(t, "enqueue command", err)

	update := store.Command{
		DeviceID:  "dev-1",
		Seq:       orig.Seq,
		IntentID:  "ignored",
		Kind:      "ignored",
		Payload:   []byte("ignored"),
		State:     store.CommandDone,
		Attempts:  2,
		SessionID: "0",
		Status:    200,
		Result:    "1200",
		Error:     "first attempt timed out",
		CreatedAt: at(-100),
		UpdatedAt: at(30),
	}
	must(t, "update command", s.UpdateCommand(ctx, update))

	want := orig
	want.State, want.Attempts, want.SessionID = update.State, update.Attempts, update.SessionID
	want.Status, want.Result, want.Error = update.Status, update.Result, update.Error
	want.UpdatedAt = update.UpdatedAt

	got, err := s.GetCommand(ctx, "dev-1", orig.Seq)
	must(t, "get command", err)
	checkEqual(t, "updated command", got, want)

	missing := update
	missing.Seq = 42
	err = s.UpdateCommand(ctx, missing)
	checkErr(t, "UpdateCommand unknown seq", err, store.ErrNotFound, "dev-1")
}

func testPruneCommands(t *testing.T, s store.Store) {
	ctx := context.Background()
	cutoff := at(10)
	rows := []struct {
		state   store.CommandState
		updated int // minutes after base; -1 for the zero time
		pruned  bool
	}{
		{store.CommandPending, 0, false},
		{store.CommandDone, 0, true},
		{store.CommandSent, 0, false},
		{store.CommandFailed, 9, true},
		{store.CommandDone, 10, false},
		{store.CommandCancelled, 1, true},
		{store.CommandFailed, 20, false},
		{store.CommandDone, -1, true},
	}
	var kept []int64
	for i, r := range rows {
		c, err := s.EnqueueCommand(ctx, sampleCommand("dev-1", i))
		must(t, "enqueue command", err)
		c.State = r.state
		c.UpdatedAt = at(r.updated)
		if r.updated < 0 {
			c.UpdatedAt = time.Time{}
		}
		must(t, "update command", s.UpdateCommand(ctx, c))
		if !r.pruned {
			kept = append(kept, c.Seq)
		}
	}

	// The newest command is pruned, so a backend that derives the next Seq
	// from the rows still stored would reuse its Seq.
	n, err := s.PruneCommands(ctx, cutoff)
	must(t, "prune commands", err)
	if n != 4 {
		t.Errorf("PruneCommands deleted %d, want 4", n)
	}

	cmds, err := s.ListCommands(ctx, "dev-1", 0)
	must(t, "list commands", err)
	if got := seqs(cmds); fmt.Sprint(got) != fmt.Sprint(kept) {
		t.Errorf("commands after prune = %v, want %v", got, kept)
	}

	next, err := s.EnqueueCommand(ctx, sampleCommand("dev-1", 99))
	must(t, "enqueue after prune", err)
	if want := int64(len(rows) + 1); next.Seq != want {
		t.Errorf("Seq after prune = %d, want %d", next.Seq, want)
	}
}
