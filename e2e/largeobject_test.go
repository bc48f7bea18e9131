package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virmo/virmo/agent"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/hypervisor/sim"
	"github.com/virmo/virmo/server"
	"github.com/virmo/virmo/server/dmsession"
	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/store/sqlite"
)

// inProcess is a real server on SQLite behind httptest and an enrolled
// real agent on the sim driver with one VM, vm1.
type inProcess struct {
	store    *sqlite.Store
	agent    *agent.Agent
	deviceID string
	// dmPosts counts the DM messages the agent posted.
	dmPosts atomic.Int64
}

func newInProcess(t *testing.T, maxMsgSize int) *inProcess {
	t.Helper()
	return newInProcessWith(t, inProcessConfig{maxMsgSize: maxMsgSize})
}

// inProcessConfig sets up an inProcess. rewriteReply, when set, changes
// every DM reply body of the server before the agent reads it.
type inProcessConfig struct {
	maxMsgSize   int
	encoding     string
	rewriteReply func([]byte) []byte
}

func newInProcessWith(t *testing.T, cfg inProcessConfig) *inProcess {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	st, err := sqlite.Open(ctx, filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	p := &inProcess{store: st}

	var handler http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/dm" {
			handler.ServeHTTP(w, r)
			return
		}
		p.dmPosts.Add(1)
		if cfg.rewriteReply == nil {
			handler.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(cfg.rewriteReply(rec.Body.Bytes()))
	}))
	t.Cleanup(ts.Close)
	srv, err := server.New(ctx, server.Config{DataDir: filepath.Join(dir, "server"), Store: st,
		PublicURL: ts.URL, Logger: quiet, DisableNotifyUDP: true})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	handler = srv.Handler()

	token, err := srv.CreateEnrollToken(ctx, "large objects", time.Hour)
	if err != nil {
		t.Fatalf("create enrollment token: %v", err)
	}
	agentDir := filepath.Join(dir, "agent")
	err = agent.Enroll(ctx, agent.EnrollConfig{DataDir: agentDir, ServerURL: ts.URL,
		Token: token, Name: "large-object host"})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	drv, err := sim.Open(filepath.Join(dir, "sim"))
	if err != nil {
		t.Fatalf("open sim driver: %v", err)
	}
	if _, err := drv.Create(ctx, "vm1", hypervisor.Config{VCPUs: 1, MemoryMiB: 32}); err != nil {
		t.Fatalf("create vm1: %v", err)
	}
	a, err := agent.New(agent.Config{DataDir: agentDir, Driver: drv, Logger: quiet,
		MaxMsgSize: cfg.maxMsgSize, Encoding: cfg.encoding})
	if err != nil {
		t.Fatalf("new agent: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	if err := a.Reconcile(ctx); err != nil {
		t.Fatalf("reconcile the agent with the sim driver: %v", err)
	}
	p.agent = a

	devices, err := st.ListDevices(ctx)
	if err != nil || len(devices) != 1 {
		t.Fatalf("list devices = %d devices, %v; want 1", len(devices), err)
	}
	p.deviceID = devices[0].ID
	return p
}

// enqueue queues a dm command for the agent's device.
func (p *inProcess) enqueue(t *testing.T, payload dmsession.Payload) int64 {
	t.Helper()
	data, err := json.Marshal(payload)
	if err != nil {
		t.Fatalf("encode payload: %v", err)
	}
	c, err := p.store.EnqueueCommand(context.Background(), store.Command{
		DeviceID: p.deviceID, Kind: dmsession.CommandKindDM, Payload: data,
		State: store.CommandPending,
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return c.Seq
}

func (p *inProcess) command(t *testing.T, seq int64) store.Command {
	t.Helper()
	c, err := p.store.GetCommand(context.Background(), p.deviceID, seq)
	if err != nil {
		t.Fatalf("get command %d: %v", seq, err)
	}
	return c
}

const authData = "./VirMO/vm1/LockParams/UnlockAuth/AuthData"

// enqueueAuthData queues the Add of UnlockAuth and a Replace of its
// AuthData with the base64 value encoded, and returns both seqs.
func (p *inProcess) enqueueAuthData(t *testing.T, encoded string) (addSeq, replaceSeq int64) {
	t.Helper()
	addSeq = p.enqueue(t, dmsession.Payload{
		Command: dmsession.CommandTemplate{Name: "Add", Items: []dmsession.ItemTemplate{{
			Target: "./VirMO/vm1/LockParams/UnlockAuth", Format: "node"}}},
		AcceptStatuses: []int{418},
	})
	replaceSeq = p.enqueue(t, dmsession.Payload{
		Command: dmsession.CommandTemplate{Name: "Replace", Items: []dmsession.ItemTemplate{{
			Target: authData, Format: "b64", Data: encoded, HasData: true}}},
	})
	return addSeq, replaceSeq
}

func TestLargeObjectRoundTrip(t *testing.T) {
	const maxMsgSize = 8192
	raw := make([]byte, 1<<20)
	rand.Read(raw)
	encoded := base64.StdEncoding.EncodeToString(raw)

	tests := []struct {
		encoding string
		// wireSize is the object's length on the wire: the base64 text in
		// XML, the raw bytes sent as OPAQUE in WBXML.
		wireSize int
	}{
		{agent.EncodingXML, len(encoded)},
		{agent.EncodingWBXML, len(raw)},
	}
	for _, tt := range tests {
		t.Run(tt.encoding, func(t *testing.T) {
			p := newInProcessWith(t, inProcessConfig{maxMsgSize: maxMsgSize,
				encoding: tt.encoding})
			addSeq, replaceSeq := p.enqueueAuthData(t, encoded)

			if err := p.agent.Session(context.Background()); err != nil {
				t.Fatalf("session: %v", err)
			}
			posts := p.dmPosts.Load()
			t.Logf("%s: 1 MiB Replace took %d agent messages with agent MaxMsgSize %d",
				tt.encoding, posts, maxMsgSize)
			for _, seq := range []int64{addSeq, replaceSeq} {
				if c := p.command(t, seq); c.State != store.CommandDone {
					t.Fatalf("command %d = %s status %d (%s), want done", seq, c.State,
						c.Status, c.Error)
				}
			}
			got, err := p.agent.Value(authData)
			if err != nil {
				t.Fatalf("read AuthData on the agent: %v", err)
			}
			if !bytes.Equal(got, raw) {
				t.Fatalf("AuthData on the agent = %d bytes, want the 1 MiB value intact",
					len(got))
			}
			if min := int64(tt.wireSize / maxMsgSize); posts < min {
				t.Fatalf("transfer took %d messages, want at least %d for chunks under %d bytes",
					posts, min, maxMsgSize)
			}

			// The agent sends the value back in chunks of the server's
			// MaxMsgSize (64 KiB by default).
			getSeq := p.enqueue(t, dmsession.Payload{Command: dmsession.CommandTemplate{
				Name: "Get", Items: []dmsession.ItemTemplate{{Target: authData}}}})
			if err := p.agent.Session(context.Background()); err != nil {
				t.Fatalf("session with the Get: %v", err)
			}
			t.Logf("%s: 1 MiB Get took %d agent messages with server MaxMsgSize %d",
				tt.encoding, p.dmPosts.Load()-posts, dmsession.DefaultMaxMsgSize)
			c := p.command(t, getSeq)
			if c.State != store.CommandDone {
				t.Fatalf("Get = %s status %d (%s), want done", c.State, c.Status, c.Error)
			}
			if c.Result != encoded {
				t.Fatalf("Get result = %d characters with SHA-256 %x, want %d with %x",
					len(c.Result), sha256.Sum256([]byte(c.Result)), len(encoded),
					sha256.Sum256([]byte(encoded)))
			}
		})
	}
}

func TestLargeObjectSizeMismatch(t *testing.T) {
	raw := make([]byte, 100<<10)
	rand.Read(raw)
	encoded := base64.StdEncoding.EncodeToString(raw)
	sizeTag := []byte(">" + strconv.Itoa(len(encoded)) + "</Size>")

	tests := []struct {
		name  string
		total int
	}{
		{"size one over", len(encoded) + 1},
		{"size one under", len(encoded) - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rewritten atomic.Int64
			wrongTag := []byte(">" + strconv.Itoa(tt.total) + "</Size>")
			p := newInProcessWith(t, inProcessConfig{maxMsgSize: 8192,
				rewriteReply: func(body []byte) []byte {
					if bytes.Contains(body, sizeTag) {
						rewritten.Add(1)
					}
					return bytes.Replace(body, sizeTag, wrongTag, 1)
				}})
			addSeq, replaceSeq := p.enqueueAuthData(t, encoded)
			before, err := p.agent.Value(authData)
			if err == nil {
				t.Fatalf("AuthData exists before the Add: %d bytes", len(before))
			}

			if err := p.agent.Session(context.Background()); err != nil {
				t.Fatalf("session: %v", err)
			}
			if n := rewritten.Load(); n != 1 {
				t.Fatalf("Meta Size rewritten in %d replies, want 1", n)
			}
			if c := p.command(t, addSeq); c.State != store.CommandDone {
				t.Fatalf("Add = %s status %d (%s), want done", c.State, c.Status, c.Error)
			}
			c := p.command(t, replaceSeq)
			if c.State != store.CommandFailed || c.Status != 424 {
				t.Fatalf("Replace = %s status %d (%s), want failed 424", c.State, c.Status,
					c.Error)
			}
			got, err := p.agent.Value(authData)
			if err != nil {
				t.Fatalf("read AuthData on the agent: %v", err)
			}
			if len(got) != 0 {
				t.Fatalf("AuthData on the agent = %d bytes after 424, want the empty default",
					len(got))
			}
		})
	}
}

func TestLargeObjectOverAgentMaxObjSize(t *testing.T) {
	p := newInProcess(t, 8192)
	seq := p.enqueue(t, dmsession.Payload{
		Command: dmsession.CommandTemplate{Name: "Replace", Items: []dmsession.ItemTemplate{{
			Target: "./VirMO/vm1/Config/Image", Format: "chr",
			Data: strings.Repeat("x", agent.DefaultMaxObjSize+1), HasData: true}}},
	})
	if err := p.agent.Session(context.Background()); err != nil {
		t.Fatalf("session: %v", err)
	}
	c := p.command(t, seq)
	if c.State != store.CommandFailed || c.Status != 413 {
		t.Fatalf("command = %s status %d, want failed 413", c.State, c.Status)
	}
}
