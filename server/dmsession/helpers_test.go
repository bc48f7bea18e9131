package dmsession

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/server/seal"
	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/store/sqlite"
	"github.com/virmo/virmo/syncml"
)

// Account of the device every test enrolls.
const (
	testDeviceID     = "dev-1"
	testDevID        = "IMEI:490154203237518"
	testServerID     = "virmo-test"
	testClientUser   = "dev1-user"
	testClientSecret = "client-password-0123456789"
	testServerSecret = "server-password-9876543210"
	testServerURL    = "http://127.0.0.1/dm"
)

// recordingHooks is a Hooks that records every call. Hooks is the
// engine's own seam to the server core, so a recorder replaces the core.
type recordingHooks struct {
	mu          sync.Mutex
	answered    []answeredCall
	alerts      []Alert
	inventories [][]ObservedVM
	// unlock maps a secret id to its AuthData and digest.
	unlock map[string][2][]byte
	// failAnswered makes CommandAnswered fail, to test rollback.
	failAnswered error
}

type answeredCall struct {
	Seq    int64
	State  store.CommandState
	Status int
	Result string
}

func (h *recordingHooks) UnlockAuth(_ context.Context, secretID string) ([]byte, []byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.unlock[secretID]
	if !ok {
		return nil, nil, fmt.Errorf("secret %s not found", secretID)
	}
	return m[0], m[1], nil
}

func (h *recordingHooks) CommandAnswered(_ context.Context, _ store.Queries, cmd store.Command,
	status int, result string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failAnswered != nil {
		return h.failAnswered
	}
	h.answered = append(h.answered, answeredCall{cmd.Seq, cmd.State, status, result})
	return nil
}

func (h *recordingHooks) AlertReceived(_ context.Context, _ store.Queries, _ string, a Alert) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.alerts = append(h.alerts, a)
	return nil
}

func (h *recordingHooks) InventoryObserved(_ context.Context, _ store.Queries, _ string,
	vms []ObservedVM) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inventories = append(h.inventories, vms)
	return nil
}

// fixture is a server engine on a real SQLite store behind an httptest
// server, with one enrolled device.
type fixture struct {
	t      testing.TB
	dir    string
	store  *sqlite.Store
	sealer *seal.Sealer
	hooks  *recordingHooks
	srv    *httptest.Server
	logs   *bytes.Buffer
	device store.Device
}

func newFixture(t testing.TB, maxAttempts int) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })

	key := make([]byte, seal.KeySize)
	rand.Read(key)
	sealer, err := seal.New(key)
	if err != nil {
		t.Fatalf("new sealer: %v", err)
	}

	f := &fixture{t: t, dir: dir, store: st, sealer: sealer, logs: &bytes.Buffer{},
		hooks: &recordingHooks{unlock: map[string][2][]byte{}}}
	f.device = store.Device{
		ID:                 testDeviceID,
		DevID:              testDevID,
		Name:               "test device",
		ServerID:           testServerID,
		ClientUser:         testClientUser,
		ClientSecretSealed: f.seal(testClientSecret),
		ServerSecretSealed: f.seal(testServerSecret),
		ClientNonce:        []byte("initial-client-nonce"),
		ServerNonce:        []byte("initial-server-nonce"),
		CreatedAt:          time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	if err := st.CreateDevice(ctx, f.device); err != nil {
		t.Fatalf("create device: %v", err)
	}

	engine := New(Config{
		Store:       st,
		Hooks:       f.hooks,
		Sealer:      sealer,
		ServerURL:   testServerURL,
		ServerID:    testServerID,
		Logger:      slog.New(slog.NewTextHandler(syncWriter{f.logs, &sync.Mutex{}}, nil)),
		MaxAttempts: maxAttempts,
		Now:         func() time.Time { return time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC) },
	})
	f.srv = httptest.NewServer(engine)
	t.Cleanup(f.srv.Close)
	return f
}

type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (f *fixture) seal(plain string) []byte {
	f.t.Helper()
	sealed, err := f.sealer.Seal([]byte(plain))
	if err != nil {
		f.t.Fatalf("seal: %v", err)
	}
	return sealed
}

// enqueue queues a dm command with the given payload and returns its Seq.
func (f *fixture) enqueue(p Payload) int64 {
	f.t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		f.t.Fatalf("encode payload: %v", err)
	}
	c, err := f.store.EnqueueCommand(context.Background(), store.Command{
		DeviceID: testDeviceID, Kind: CommandKindDM, Payload: data,
		State: store.CommandPending, IntentID: "intent-1",
	})
	if err != nil {
		f.t.Fatalf("enqueue: %v", err)
	}
	return c.Seq
}

func (f *fixture) command(seq int64) store.Command {
	f.t.Helper()
	c, err := f.store.GetCommand(context.Background(), testDeviceID, seq)
	if err != nil {
		f.t.Fatalf("get command %d: %v", seq, err)
	}
	return c
}

func (f *fixture) storedDevice() store.Device {
	f.t.Helper()
	d, err := f.store.GetDevice(context.Background(), testDeviceID)
	if err != nil {
		f.t.Fatalf("get device: %v", err)
	}
	return d
}

// post sends body with the XML content type and returns the response.
func (f *fixture) post(body []byte) (*http.Response, []byte) {
	f.t.Helper()
	resp, err := http.Post(f.srv.URL, syncml.ContentTypeXML, bytes.NewReader(body))
	if err != nil {
		f.t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("read response: %v", err)
	}
	return resp, data
}

// lockstep is a scripted device: it sends exact messages and hands back
// the server's replies, checking on each that the reply is valid SyncML
// and carries correct server credentials.
type lockstep struct {
	f           *fixture
	sessionID   string
	msgID       int
	clientNonce []byte
	serverNonce []byte
	lastSent    []byte
	// serverMsg is the MsgID of the last server message.
	serverMsg string
}

func (f *fixture) newDevice(sessionID string) *lockstep {
	return &lockstep{f: f, sessionID: sessionID,
		clientNonce: f.device.ClientNonce, serverNonce: f.device.ServerNonce}
}

// newSession starts a new session on the same device.
func (d *lockstep) newSession(sessionID string) {
	d.sessionID = sessionID
	d.msgID = 0
}

// credential is the Cred the device sends: valid, absent or wrong.
type credential int

const (
	credValid credential = iota
	credNone
	credWrong
)

func (d *lockstep) build(cred credential, final bool, cmds ...syncml.Command) *syncml.Message {
	d.msgID++
	h := syncml.Header{
		VerDTD: syncml.VerDTD12, VerProto: syncml.VerProtoDM12,
		SessionID: d.sessionID, MsgID: strconv.Itoa(d.msgID),
		Target: syncml.Locator{LocURI: testServerURL},
		Source: syncml.Locator{LocURI: testDevID, LocName: testClientUser},
	}
	password := testClientSecret
	if cred == credWrong {
		password = "wrong-password"
	}
	if cred != credNone {
		h.Cred = &syncml.Cred{
			Meta: &syncml.Meta{Type: syncml.AuthMD5, Format: "b64"},
			Data: dmauth.MD5Digest(testClientUser, password, d.clientNonce),
		}
	}
	for i := range cmds {
		cmds[i].CmdID = strconv.Itoa(i + 1)
	}
	return &syncml.Message{Header: h, Body: syncml.Body{Commands: cmds, Final: final}}
}

// send encodes and posts m, then checks and returns the reply.
func (d *lockstep) send(m *syncml.Message) *syncml.Message {
	d.f.t.Helper()
	body, err := syncml.Encode(m)
	if err != nil {
		d.f.t.Fatalf("encode device message: %v", err)
	}
	return d.sendBytes(body)
}

func (d *lockstep) sendBytes(body []byte) *syncml.Message {
	t := d.f.t
	t.Helper()
	d.lastSent = body
	resp, data := d.f.post(body)

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP status = %d, want 200; body %q", resp.StatusCode, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != syncml.ContentTypeXML {
		t.Fatalf("reply Content-Type = %q, want %q", ct, syncml.ContentTypeXML)
	}
	reply, err := syncml.Decode(data)
	if err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	if v := syncml.Validate(reply); v != nil {
		t.Fatalf("reply violates DM rules: %v", v)
	}

	h := reply.Header
	if h.SessionID != d.sessionID || h.Target.LocURI != testDevID ||
		h.Source.LocURI != testServerURL {
		t.Fatalf("reply header = session %q target %q source %q", h.SessionID,
			h.Target.LocURI, h.Source.LocURI)
	}
	// Only a reply to an authenticated message carries server credentials.
	if code, _ := hdrStatus(t, reply); code == syncml.StatusAuthAccepted || code == syncml.StatusOK {
		want := dmauth.MD5Digest(testServerID, testServerSecret, d.serverNonce)
		if h.Cred == nil || h.Cred.Data != want || h.Source.LocName != testServerID {
			t.Fatalf("reply lacks valid server credentials for nonce %q", d.serverNonce)
		}
	} else if h.Cred != nil {
		t.Fatalf("reply with SyncHdr status %d carries server credentials", code)
	}

	d.serverMsg = h.MsgID
	d.takeNonce(reply)
	return reply
}

// takeNonce keeps the NextNonce of the SyncHdr Status, as a device does.
func (d *lockstep) takeNonce(reply *syncml.Message) {
	for _, c := range reply.Body.Commands {
		if c.Name == syncml.CmdStatus && c.Cmd == syncml.CmdSyncHdr && c.Chal != nil {
			nonce, err := base64.StdEncoding.DecodeString(c.Chal.Meta.NextNonce)
			if err != nil {
				d.f.t.Fatalf("NextNonce %q is not base64", c.Chal.Meta.NextNonce)
			}
			d.clientNonce = nonce
		}
	}
}

// pkg1 returns the commands of a Package 1: Alert 1201 and DevInfo.
func pkg1(extra ...syncml.Command) []syncml.Command {
	devInfo := syncml.Command{Name: syncml.CmdReplace}
	for _, leaf := range [][2]string{
		{"DevId", testDevID}, {"Man", "Acme"}, {"Mod", "V1"}, {"DmV", "1.2"}, {"Lang", "en-US"},
	} {
		devInfo.Items = append(devInfo.Items, syncml.Item{
			Source: &syncml.Locator{LocURI: "./DevInfo/" + leaf[0]},
			Data:   syncml.NewData(leaf[1]),
		})
	}
	cmds := []syncml.Command{{Name: syncml.CmdAlert, Data: "1201"}, devInfo}
	return append(cmds, extra...)
}

func status(msgRef, cmdRef, cmd string, code int) syncml.Command {
	return syncml.NewStatus(msgRef, cmdRef, cmd, code)
}

func results(msgRef, cmdRef, uri, data string) syncml.Command {
	return syncml.Command{Name: syncml.CmdResults, MsgRef: msgRef, CmdRef: cmdRef,
		Items: []syncml.Item{{Source: &syncml.Locator{LocURI: uri}, Data: syncml.NewData(data)}}}
}

// hdrOK is the device's Status 200 for the last server SyncHdr.
func (d *lockstep) hdrOK() syncml.Command {
	return status(d.serverMsg, "0", syncml.CmdSyncHdr, 200)
}

func genericAlert(correlator, alertType, source, data string) syncml.Command {
	return syncml.Command{Name: syncml.CmdAlert, Data: "1226", Correlator: correlator,
		Items: []syncml.Item{{
			Source: &syncml.Locator{LocURI: source},
			Meta:   &syncml.Meta{Type: alertType, Format: "int", Mark: "informational"},
			Data:   syncml.NewData(data),
		}}}
}

// describe renders the body of a message one line per command, the form
// the lockstep tests compare against.
func describe(m *syncml.Message) []string {
	var lines []string
	for _, c := range m.Body.Commands {
		lines = append(lines, describeCommand(c))
	}
	if m.Body.Final {
		lines = append(lines, "Final")
	}
	return lines
}

func describeCommand(c syncml.Command) string {
	switch c.Name {
	case syncml.CmdStatus:
		s := fmt.Sprintf("Status %s/%s %s %s", c.MsgRef, c.CmdRef, c.Cmd, c.Data)
		if c.Chal != nil {
			s += " chal"
		}
		return s
	case syncml.CmdAlert:
		return fmt.Sprintf("Alert#%s %s", c.CmdID, c.Data)
	}
	s := c.Name + "#" + c.CmdID
	if c.Correlator != "" {
		s += " " + c.Correlator
	}
	for _, it := range c.Items {
		s += " " + it.Target.LocURI
		if it.Data != nil {
			s += "=" + it.Data.Value
		}
	}
	if len(c.Commands) > 0 {
		var children []string
		for _, child := range c.Commands {
			children = append(children, describeCommand(child))
		}
		s += "{" + strings.Join(children, "; ") + "}"
	}
	return s
}

// expect compares the described reply with want line by line.
func expect(t testing.TB, step string, reply *syncml.Message, want ...string) {
	t.Helper()
	got := describe(reply)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s: reply =\n  %s\nwant\n  %s", step, strings.Join(got, "\n  "),
			strings.Join(want, "\n  "))
	}
}

// openSession sends Package 1 and reads an inventory without VMs, leaving
// the session in the queue phase. It returns the reply to the inventory,
// which carries the first batch of queued commands.
func (d *lockstep) openSession() *syncml.Message {
	d.f.t.Helper()
	r := d.send(d.build(credValid, true, pkg1()...))
	expect(d.f.t, "package 1", r,
		"Status 1/0 SyncHdr 212 chal", "Status 1/1 Alert 200", "Status 1/2 Replace 200",
		"Get#4 ./VirMO", "Final")
	return d.send(d.build(credNone, true, d.hdrOK(),
		status(d.serverMsg, "4", syncml.CmdGet, 200),
		results(d.serverMsg, "4", "./VirMO", "")))
}
