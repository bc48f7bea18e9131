package agent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/hypervisor/sim"
	"github.com/virmo/virmo/mo/dmacc"
	"github.com/virmo/virmo/syncml"
)

// Credentials the scripted server hands out at enrollment.
const (
	testServerID       = "virmo-test"
	testClientUser     = "dev-0001"
	testClientPassword = "client-password-8c1f"
	testServerPassword = "server-password-77ad"
	testDevID          = "urn:uuid:00000000-0000-4000-8000-000000000001"
	testToken          = "enroll-token-1"
)

var (
	testClientNonce = []byte("client-nonce-000")
	testServerNonce = []byte("server-nonce-000")
)

// step handles one DM message the agent posts and returns the reply; a
// nil reply makes the server answer HTTP 500.
type step func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message

// dmServer is an in-process scripted DM server: it serves enrollment and
// answers each posted DM message with the next step of its script.
type dmServer struct {
	t   *testing.T
	srv *httptest.Server

	mu    sync.Mutex
	steps []step
}

func newDMServer(t *testing.T) *dmServer {
	d := &dmServer{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/enroll", d.enroll)
	mux.HandleFunc("POST /dm", d.dm)
	d.srv = httptest.NewServer(mux)
	t.Cleanup(d.srv.Close)
	return d
}

func (d *dmServer) dmURL() string { return d.srv.URL + "/dm" }

// script replaces the remaining steps.
func (d *dmServer) script(steps ...step) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.steps = steps
}

// done fails the test when steps are left over.
func (d *dmServer) done() {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.steps) != 0 {
		d.t.Errorf("%d scripted messages were never sent by the agent", len(d.steps))
	}
}

func (d *dmServer) enroll(w http.ResponseWriter, r *http.Request) {
	var req api.EnrollRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Token != testToken {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"unknown enrollment token"}`)
		return
	}
	json.NewEncoder(w).Encode(api.Enrollment{
		DeviceID:       testClientUser,
		ServerID:       testServerID,
		ServerURL:      d.dmURL(),
		ClientUser:     testClientUser,
		ClientPassword: testClientPassword,
		ServerPassword: testServerPassword,
		ClientNonce:    base64.StdEncoding.EncodeToString(testClientNonce),
		ServerNonce:    base64.StdEncoding.EncodeToString(testServerNonce),
	})
}

func (d *dmServer) dm(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != syncml.ContentTypeXML {
		d.t.Errorf("Content-Type = %q, want %q", ct, syncml.ContentTypeXML)
	}
	raw, _ := io.ReadAll(r.Body)
	in, err := syncml.Decode(raw)
	if err != nil {
		d.t.Errorf("agent sent an undecodable message: %v\n%s", err, raw)
		w.WriteHeader(http.StatusBadRequest)
		return
	}

	d.mu.Lock()
	if len(d.steps) == 0 {
		d.mu.Unlock()
		d.t.Errorf("agent sent an unexpected message:\n%s", raw)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	next := d.steps[0]
	d.steps = d.steps[1:]
	d.mu.Unlock()

	reply := next(d.t, raw, in)
	if reply == nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	body, err := syncml.Encode(reply)
	if err != nil {
		d.t.Errorf("encode scripted reply: %v", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", syncml.ContentTypeXML)
	w.Write(body)
}

// serverMessage returns a server message answering in, with the server's
// credentials made with serverNonce, then cmds numbered from 1.
func serverMessage(in *syncml.Message, serverNonce []byte, cmds ...syncml.Command) *syncml.Message {
	m := &syncml.Message{
		Header: syncml.Header{
			VerDTD:    syncml.VerDTD12,
			VerProto:  syncml.VerProtoDM12,
			SessionID: in.Header.SessionID,
			MsgID:     in.Header.MsgID,
			Target:    syncml.Locator{LocURI: in.Header.Source.LocURI},
			Source:    syncml.Locator{LocURI: in.Header.Target.LocURI},
			Cred: md5Cred(dmauth.MD5Digest(testServerID, testServerPassword,
				serverNonce)),
		},
		Body: syncml.Body{Final: true},
	}
	for i, c := range cmds {
		c.CmdID = strconv.Itoa(i + 1)
		m.Body.Commands = append(m.Body.Commands, c)
	}
	return m
}

// statusFor returns the server's Status answering command cmdID of in.
func statusFor(in *syncml.Message, cmdID, cmd string, code int) syncml.Command {
	return syncml.NewStatus(in.Header.MsgID, cmdID, cmd, code)
}

// hdrStatus returns the server's Status for the agent's SyncHdr, with a
// challenge carrying nextNonce when it is not nil.
func hdrStatus(in *syncml.Message, code int, nextNonce []byte) syncml.Command {
	st := syncml.NewStatus(in.Header.MsgID, "0", syncml.CmdSyncHdr, code)
	if nextNonce != nil {
		st.Chal = md5Chal(nextNonce)
	}
	return st
}

// testAgent is an enrolled agent on a simulated hypervisor with one
// running VM, vm1, and its log.
type testAgent struct {
	*Agent
	drv  hypervisor.Driver
	logs *bytes.Buffer
	dir  string
}

func newTestAgent(t *testing.T, srv *dmServer, options ...func(*Config)) *testAgent {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()

	err := Enroll(ctx, EnrollConfig{
		DataDir:    dir,
		ServerURL:  srv.srv.URL,
		Token:      testToken,
		DevID:      testDevID,
		Name:       "test device",
		HTTPClient: srv.srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}

	drv, err := sim.Open(filepath.Join(dir, "sim"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drv.Close() })
	if _, err := drv.Create(ctx, "vm1", hypervisor.Config{VCPUs: 1, MemoryMiB: 32}); err != nil {
		t.Fatal(err)
	}
	if err := drv.Start(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}

	logs := &bytes.Buffer{}
	handler := slog.NewTextHandler(&syncWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug})
	cfg := Config{
		DataDir:    dir,
		Driver:     drv,
		HTTPClient: srv.srv.Client(),
		Logger:     slog.New(handler),
		SocketPath: shortSocketPath(t),
	}
	for _, o := range options {
		o(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := a.mo.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	return &testAgent{Agent: a, drv: drv, logs: logs, dir: dir}
}

// nextServerNonce returns the server nonce the agent's Status for our
// SyncHdr in m challenges with, or current when it has none.
func nextServerNonce(m *syncml.Message, current []byte) []byte {
	for _, c := range m.Body.Commands {
		if c.Name != syncml.CmdStatus || c.CmdRef != "0" || c.Chal == nil || c.Chal.Meta == nil {
			continue
		}
		if n, err := base64.StdEncoding.DecodeString(c.Chal.Meta.NextNonce); err == nil {
			return n
		}
	}
	return current
}

// shortSocketPath returns a socket path short enough for a Unix socket.
func shortSocketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "agent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "u.sock")
}

// syncWriter serialises writes to a buffer shared by goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// account reads the DM account from the agent's tree.
func (ta *testAgent) account(t *testing.T) dmacc.Account {
	t.Helper()
	var acc dmacc.Account
	err := ta.tree.View(func(tx *dmtree.Tx) error {
		var err error
		acc, err = dmacc.Read(tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

// queueAlert queues an alert in a local transaction, as an MO would.
func (ta *testAgent) queueAlert(t *testing.T, a dmtree.Alert) {
	t.Helper()
	err := ta.tree.Update(func(tx *dmtree.Tx) error {
		tx.QueueAlert(a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pending returns the queued alerts.
func (ta *testAgent) pending(t *testing.T) []queuedAlert {
	t.Helper()
	p, err := ta.state.pendingAlerts()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// value reads a leaf of the agent's tree.
func (ta *testAgent) value(t *testing.T, uri string) string {
	t.Helper()
	var v []byte
	err := ta.tree.View(func(tx *dmtree.Tx) error {
		var err error
		v, err = tx.Value(uri)
		return err
	})
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	return string(v)
}

// openSim opens a simulated hypervisor in dir/sim.
func openSim(t *testing.T, dir string) hypervisor.Driver {
	t.Helper()
	drv, err := sim.Open(filepath.Join(dir, "sim"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drv.Close() })
	return drv
}
