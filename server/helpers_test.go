package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/server/dmsession"
	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/store/sqlite"
)

// testClock is a settable clock; tests move it by hand, never by sleeping.
type testClock struct {
	now time.Time
}

func (c *testClock) Now() time.Time { return c.now }

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testEnv struct {
	logs   *syncBuffer
	t      *testing.T
	ctx    context.Context
	dir    string
	dbPath string
	store  *sqlite.Store
	srv    *Server
	clock  *testClock
}

// newTestEnv starts a Server on a new SQLite store in a temporary data
// directory.
func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "server.db")
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	clock := &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(ctx, Config{
		Logger:    logger,
		DataDir:   dir,
		Store:     st,
		PublicURL: "http://127.0.0.1:8080",
		Now:       clock.Now,
	})
	if err != nil {
		st.Close()
		t.Fatalf("new server: %v", err)
	}
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return &testEnv{logs: logs, t: t, ctx: ctx, dir: dir, dbPath: dbPath, store: st, srv: srv, clock: clock}
}

// enroll enrolls a device through a fresh token and returns its ID.
func (e *testEnv) enroll(devID string) string {
	e.t.Helper()
	token, err := e.srv.CreateEnrollToken(e.ctx, "test", time.Hour)
	if err != nil {
		e.t.Fatalf("create enrollment token: %v", err)
	}
	enrollment, err := e.srv.Enroll(e.ctx, api.EnrollRequest{Token: token, DevID: devID})
	if err != nil {
		e.t.Fatalf("enroll %s: %v", devID, err)
	}
	return enrollment.DeviceID
}

// observe reports an inventory as a DM session would.
func (e *testEnv) observe(device string, vms ...dmsession.ObservedVM) {
	e.t.Helper()
	err := e.store.InTx(e.ctx, func(q store.Queries) error {
		return e.srv.Hooks().InventoryObserved(e.ctx, q, device, vms)
	})
	if err != nil {
		e.t.Fatalf("observe inventory: %v", err)
	}
}

// deviceWithVM enrolls a device that reports one running, unlocked VM.
func (e *testEnv) deviceWithVM(vm string) string {
	e.t.Helper()
	device := e.enroll("IMEI:" + vm)
	e.observe(device, dmsession.ObservedVM{Name: vm, VMID: "uuid-" + vm, State: 20, LockState: 0})
	return device
}

// intentCommands returns the commands of an intent in queue order.
func (e *testEnv) intentCommands(device, intentID string) []store.Command {
	e.t.Helper()
	cmds, err := e.store.ListCommands(e.ctx, device, 0)
	if err != nil {
		e.t.Fatalf("list commands: %v", err)
	}
	var out []store.Command
	for _, c := range cmds {
		if c.IntentID == intentID {
			out = append(out, c)
		}
	}
	return out
}

// answer finishes a queued command as the session engine does, with the
// given state and status, and reports it through CommandAnswered.
func (e *testEnv) answer(cmd store.Command, state store.CommandState, status int) {
	e.t.Helper()
	err := e.store.InTx(e.ctx, func(q store.Queries) error {
		cmd.State = state
		cmd.Status = status
		cmd.UpdatedAt = e.clock.now
		if err := q.UpdateCommand(e.ctx, cmd); err != nil {
			return err
		}
		return e.srv.Hooks().CommandAnswered(e.ctx, q, cmd, status, "")
	})
	if err != nil {
		e.t.Fatalf("answer command %d: %v", cmd.Seq, err)
	}
}

// completeIntent answers every command of an intent with success: 200
// for the steps and an OperationComplete 1200 for the Exec.
func (e *testEnv) completeIntent(device, intentID string) {
	e.t.Helper()
	for _, c := range e.intentCommands(device, intentID) {
		if c.State != store.CommandPending {
			continue
		}
		status := 200
		if payloadExec(c.Payload) {
			status = 1200
		}
		e.answer(c, store.CommandDone, status)
	}
}

// alert reports a Generic Alert that matched no command.
func (e *testEnv) alert(device string, a dmsession.Alert) {
	e.t.Helper()
	err := e.store.InTx(e.ctx, func(q store.Queries) error {
		return e.srv.Hooks().AlertReceived(e.ctx, q, device, a)
	})
	if err != nil {
		e.t.Fatalf("alert: %v", err)
	}
}

func (e *testEnv) vm(device, name string) store.VM {
	e.t.Helper()
	v, err := e.store.GetVM(e.ctx, device, name)
	if err != nil {
		e.t.Fatalf("get VM %s/%s: %v", device, name, err)
	}
	return v
}

func (e *testEnv) intent(id string) store.Intent {
	e.t.Helper()
	in, err := e.store.GetIntent(e.ctx, id)
	if err != nil {
		e.t.Fatalf("get intent %s: %v", id, err)
	}
	return in
}

// auditActions returns the actions of the whole audit log in order.
func (e *testEnv) auditActions() []string {
	e.t.Helper()
	entries, err := e.store.ListAudit(e.ctx, 0, 0)
	if err != nil {
		e.t.Fatalf("list audit: %v", err)
	}
	out := make([]string, len(entries))
	for i, entry := range entries {
		out[i] = entry.Action
	}
	return out
}

func decodePayload(t *testing.T, c store.Command) dmsession.Payload {
	t.Helper()
	var p dmsession.Payload
	if err := json.Unmarshal(c.Payload, &p); err != nil {
		t.Fatalf("decode payload of command %d: %v", c.Seq, err)
	}
	return p
}

// wantStatus checks that err is an *Error with the given status.
func wantStatus(t *testing.T, err error, status int) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want an *Error with status %d", err, status)
	}
	if e.Status != status {
		t.Fatalf("status = %d (%s), want %d", e.Status, e.Message, status)
	}
	return e
}

func contains(list []string, want string) bool {
	for _, v := range list {
		if v == want {
			return true
		}
	}
	return false
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("decode hex %s: %v", s, err)
	}
	return b
}

func observedVM(name string) dmsession.ObservedVM {
	return dmsession.ObservedVM{Name: name, VMID: "uuid-" + name, State: 20, LockState: 0}
}
