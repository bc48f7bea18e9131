package agent

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/syncml"
)

// queuedTestAlert is an alert queued before the session, as a user unlock
// would queue it.
var queuedTestAlert = dmtree.Alert{
	Type:   "urn:oma:at:virmo:1.0:UserUnlock",
	Format: "int",
	Mark:   "informational",
	Source: "./VirMO/vm1/LockParams",
	Target: "./VirMO/vm1",
	Data:   "1200",
}

// expectedPackage1 is the exact Package 1 the agent must send in its first
// session with one queued alert.
func expectedPackage1(srv *dmServer, clientNonce []byte) *syncml.Message {
	devInfo := func(leaf, value string) syncml.Item {
		return syncml.Item{
			Source: &syncml.Locator{LocURI: "./DevInfo/" + leaf},
			Data:   syncml.NewData(value),
		}
	}
	return &syncml.Message{
		Header: syncml.Header{
			VerDTD:    "1.2",
			VerProto:  "DM/1.2",
			SessionID: "1",
			MsgID:     "1",
			Target:    syncml.Locator{LocURI: srv.dmURL()},
			Source:    syncml.Locator{LocURI: testDevID, LocName: testClientUser},
			Cred: &syncml.Cred{
				Meta: &syncml.Meta{Type: "syncml:auth-md5", Format: "b64"},
				Data: dmauth.MD5Digest(testClientUser, testClientPassword, clientNonce),
			},
			Meta: &syncml.Meta{MaxMsgSize: "65536", MaxObjSize: "4194304"},
		},
		Body: syncml.Body{
			Commands: []syncml.Command{
				{Name: "Alert", CmdID: "1", Data: "1201"},
				{Name: "Replace", CmdID: "2", Items: []syncml.Item{
					devInfo("DevId", testDevID),
					devInfo("Man", "VirMO"),
					devInfo("Mod", "VirMO Client"),
					devInfo("DmV", "1.2"),
					devInfo("Lang", "en-US"),
				}},
				{Name: "Alert", CmdID: "3", Data: "1226", Items: []syncml.Item{{
					Source: &syncml.Locator{LocURI: "./VirMO/vm1/LockParams"},
					Target: &syncml.Locator{LocURI: "./VirMO/vm1"},
					Meta: &syncml.Meta{Type: "urn:oma:at:virmo:1.0:UserUnlock",
						Format: "int", Mark: "informational"},
					Data: syncml.NewData("1200"),
				}}},
			},
			Final: true,
		},
	}
}

// findCommand returns the first command of m named name whose CmdRef (for
// Status and Results) is cmdRef, or nil.
func findCommand(m *syncml.Message, name, cmdRef string) *syncml.Command {
	for i := range m.Body.Commands {
		c := &m.Body.Commands[i]
		if c.Name == name && (cmdRef == "" || c.CmdRef == cmdRef) {
			return c
		}
	}
	return nil
}

func TestSessionGetAndExec(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv)
	ta.queueAlert(t, queuedTestAlert)
	if n := len(ta.pending(t)); n != 1 {
		t.Fatalf("queued alerts before the session = %d, want 1", n)
	}

	clientNonce1 := []byte("client-nonce-001")
	var serverNonce1 []byte

	srv.script(
		// Package 1 → Package 2: accept, acknowledge the alert, Get and Exec.
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			want, err := syncml.Encode(expectedPackage1(srv, testClientNonce))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, want) {
				t.Errorf("Package 1 differs\n got: %s\nwant: %s", raw, want)
			}
			return serverMessage(in, testServerNonce,
				hdrStatus(in, syncml.StatusAuthAccepted, clientNonce1),
				statusFor(in, "1", "Alert", 200),
				statusFor(in, "2", "Replace", 200),
				statusFor(in, "3", "Alert", 200),
				syncml.Command{Name: "Get", Items: []syncml.Item{{
					Target: &syncml.Locator{LocURI: "./VirMO/vm1/LockParams/State"}}}},
				syncml.Command{Name: "Exec", Correlator: "c7", Items: []syncml.Item{{
					Target: &syncml.Locator{LocURI: "./VirMO/vm1/Operations/Lock"}}}},
			)
		},
		// Package 3 → Package 4: check the answers, acknowledge the alert.
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			checkPackage3(t, in)
			hs := findCommand(in, "Status", "0")
			if hs != nil && hs.Chal != nil && hs.Chal.Meta != nil {
				serverNonce1, _ = base64.StdEncoding.DecodeString(hs.Chal.Meta.NextNonce)
			}
			alert := findCommand(in, "Alert", "")
			if alert == nil {
				return serverMessage(in, serverNonce1, hdrStatus(in, 212, nil))
			}
			return serverMessage(in, serverNonce1,
				hdrStatus(in, syncml.StatusAuthAccepted, nil),
				statusFor(in, alert.CmdID, "Alert", 200))
		},
	)

	if err := ta.runSession(context.Background(), syncml.AlertClientInitiated); err != nil {
		t.Fatalf("session: %v", err)
	}
	srv.done()

	if p := ta.pending(t); len(p) != 0 {
		t.Errorf("alerts still queued after acknowledgement: %+v", p)
	}
	acc := ta.account(t)
	if !bytes.Equal(acc.ClientNonce, clientNonce1) {
		t.Errorf("client nonce not taken from the server's challenge")
	}
	if len(serverNonce1) == 0 || !bytes.Equal(acc.ServerNonce, serverNonce1) {
		t.Errorf("server nonce stored differs from the one sent in the challenge")
	}
	if got := ta.value(t, "VirMO/vm1/LockParams/State"); got != "1" {
		t.Errorf("LockParams/State = %q, want 1", got)
	}
	vm, err := ta.drv.Get(context.Background(), "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if vm.State != hypervisor.StatePaused {
		t.Errorf("vm1 state = %s, want paused", vm.State)
	}
	checkNoSecretsLogged(t, ta, clientNonce1, serverNonce1)
}

// checkPackage3 checks the agent's answer to the Get and the Exec.
func checkPackage3(t *testing.T, in *syncml.Message) {
	t.Helper()
	if in.Header.MsgID != "2" {
		t.Errorf("MsgID = %q, want 2", in.Header.MsgID)
	}
	if in.Header.Cred != nil {
		t.Errorf("message after 212 carries credentials")
	}

	hs := findCommand(in, "Status", "0")
	switch {
	case hs == nil:
		t.Errorf("no Status for the server's SyncHdr")
	case hs.Data != "212" || hs.MsgRef != "1" || hs.Cmd != "SyncHdr":
		t.Errorf("SyncHdr Status = %+v, want 212 for MsgRef 1", *hs)
	case hs.Chal == nil || hs.Chal.Meta == nil || hs.Chal.Meta.NextNonce == "":
		t.Errorf("SyncHdr Status lacks a Chal with a new server nonce")
	}
	if in.Body.Commands[0].Name != "Status" || in.Body.Commands[0].CmdRef != "0" {
		t.Errorf("first command is %s %s, want the SyncHdr Status",
			in.Body.Commands[0].Name, in.Body.Commands[0].CmdRef)
	}

	getStatus := findCommand(in, "Status", "5")
	if getStatus == nil || getStatus.Data != "200" || getStatus.Cmd != "Get" {
		t.Errorf("Get Status = %+v, want 200", getStatus)
	}
	results := findCommand(in, "Results", "5")
	switch {
	case results == nil:
		t.Errorf("no Results for the Get")
	case len(results.Items) != 1 || results.Items[0].Data == nil:
		t.Errorf("Results items = %+v, want one with Data", results.Items)
	case results.Items[0].Data.Value != "0":
		t.Errorf("Results Data = %q, want 0 (unlocked before the Exec)",
			results.Items[0].Data.Value)
	}

	execStatus := findCommand(in, "Status", "6")
	if execStatus == nil || execStatus.Data != "202" || execStatus.Cmd != "Exec" {
		t.Errorf("Exec Status = %+v, want 202", execStatus)
	}

	alert := findCommand(in, "Alert", "")
	switch {
	case alert == nil:
		t.Errorf("no OperationComplete alert after the Exec")
	case alert.Data != "1226" || alert.Correlator != "c7":
		t.Errorf("alert Data %q Correlator %q, want 1226 and c7", alert.Data, alert.Correlator)
	case len(alert.Items) != 1 || alert.Items[0].Data == nil || alert.Items[0].Meta == nil:
		t.Errorf("alert items = %+v, want one with Meta and Data", alert.Items)
	default:
		item := alert.Items[0]
		if item.Meta.Type != "urn:oma:at:virmo:1.0:OperationComplete" {
			t.Errorf("alert type = %q", item.Meta.Type)
		}
		if item.Data.Value != "1200" {
			t.Errorf("alert data = %q, want 1200", item.Data.Value)
		}
		if item.Source == nil || item.Source.LocURI != "./VirMO/vm1/Operations/Lock" {
			t.Errorf("alert source = %+v", item.Source)
		}
	}

	// CmdIDs are unique within the message.
	seen := map[string]bool{}
	for _, c := range in.Body.Commands {
		if seen[c.CmdID] {
			t.Errorf("CmdID %s used twice", c.CmdID)
		}
		seen[c.CmdID] = true
	}
}

// checkNoSecretsLogged fails when the agent's log holds a password, a
// nonce or a credential digest.
func checkNoSecretsLogged(t *testing.T, ta *testAgent, nonces ...[]byte) {
	t.Helper()
	logs := ta.logs.String()
	secrets := []string{testClientPassword, testServerPassword,
		dmauth.MD5Digest(testClientUser, testClientPassword, testClientNonce)}
	for _, n := range append(nonces, testClientNonce, testServerNonce) {
		if len(n) > 0 {
			secrets = append(secrets, string(n), base64.StdEncoding.EncodeToString(n))
		}
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("log contains a secret %q:\n%s", s, logs)
		}
	}
}

func TestSessionAlertKeptUntilAcknowledged(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv)
	ta.queueAlert(t, queuedTestAlert)
	ctx := context.Background()
	nonce := []byte("client-nonce-101")

	// 1. The server fails at HTTP level: the alert stays.
	srv.script(func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message { return nil })
	if err := ta.runSession(ctx, syncml.AlertClientInitiated); err == nil {
		t.Errorf("session against a failing server succeeded")
	}
	if n := len(ta.pending(t)); n != 1 {
		t.Fatalf("queued alerts after an HTTP failure = %d, want 1", n)
	}

	// 2. The server answers the alert with 500: it stays.
	srv.script(func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
		return serverMessage(in, testServerNonce,
			hdrStatus(in, syncml.StatusAuthAccepted, nonce),
			statusFor(in, "3", "Alert", 500))
	})
	if err := ta.runSession(ctx, syncml.AlertClientInitiated); err != nil {
		t.Fatalf("session: %v", err)
	}
	if n := len(ta.pending(t)); n != 1 {
		t.Fatalf("queued alerts after status 500 = %d, want 1", n)
	}

	// 3. A Status for another message's CmdID 3 acknowledges nothing.
	srv.script(func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
		st := statusFor(in, "3", "Alert", 200)
		st.MsgRef = "7"
		return serverMessage(in, testServerNonce, hdrStatus(in, 212, nil), st)
	})
	if err := ta.runSession(ctx, syncml.AlertClientInitiated); err != nil {
		t.Fatalf("session: %v", err)
	}
	if n := len(ta.pending(t)); n != 1 {
		t.Fatalf("queued alerts after a Status with another MsgRef = %d, want 1", n)
	}

	// 4. The server answers 202: the alert is gone.
	srv.script(func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
		if findCommand(in, "Alert", "") == nil {
			t.Errorf("queued alert not resent")
		}
		return serverMessage(in, testServerNonce,
			hdrStatus(in, syncml.StatusAuthAccepted, nil),
			statusFor(in, "3", "Alert", 202))
	})
	if err := ta.runSession(ctx, syncml.AlertClientInitiated); err != nil {
		t.Fatalf("session: %v", err)
	}
	if n := len(ta.pending(t)); n != 0 {
		t.Errorf("queued alerts after status 202 = %d, want 0", n)
	}
	srv.done()
}

func TestSessionRetriesAfterChallenge(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv)
	fresh := []byte("client-nonce-201")

	srv.script(
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			return serverMessage(in, testServerNonce,
				hdrStatus(in, syncml.StatusInvalidCredentials, fresh),
				statusFor(in, "1", "Alert", 401),
				statusFor(in, "2", "Replace", 401))
		},
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			if in.Header.MsgID != "2" {
				t.Errorf("resent Package 1 has MsgID %q, want 2", in.Header.MsgID)
			}
			if in.Header.SessionID != "1" {
				t.Errorf("resent Package 1 has SessionID %q, want 1", in.Header.SessionID)
			}
			want := dmauth.MD5Digest(testClientUser, testClientPassword, fresh)
			if in.Header.Cred == nil || in.Header.Cred.Data != want {
				t.Errorf("resent Package 1 does not use the challenged nonce")
			}
			if findCommand(in, "Alert", "") == nil || findCommand(in, "Replace", "") == nil {
				t.Errorf("resent Package 1 lacks the Alert or the DevInfo Replace")
			}
			return serverMessage(in, testServerNonce, hdrStatus(in, 212, nil))
		},
	)
	if err := ta.runSession(context.Background(), syncml.AlertClientInitiated); err != nil {
		t.Fatalf("session: %v", err)
	}
	srv.done()
	if !bytes.Equal(ta.account(t).ClientNonce, fresh) {
		t.Errorf("challenged client nonce not stored")
	}
}

func TestSessionChallengedTwiceFails(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv)

	reject := func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
		return serverMessage(in, testServerNonce,
			hdrStatus(in, syncml.StatusInvalidCredentials, []byte("another-nonce-01")))
	}
	srv.script(reject, reject)
	err := ta.runSession(context.Background(), syncml.AlertClientInitiated)
	if err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("err = %v, want a second rejection error", err)
	}
	srv.done()
}

func TestSessionRejectsBadServerCred(t *testing.T) {
	tests := []struct {
		name  string
		cred  *syncml.Cred
		nonce []byte
	}{
		{"missing", nil, nil},
		{"wrong nonce", nil, []byte("not-the-nonce-00")},
		{"wrong type", &syncml.Cred{Meta: &syncml.Meta{Type: syncml.AuthBasic, Format: "b64"},
			Data: "dmlydG1vOnBhc3M="}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newDMServer(t)
			ta := newTestAgent(t, srv)
			var rejection *syncml.Message

			srv.script(
				func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
					m := serverMessage(in, testServerNonce, hdrStatus(in, 212, nil),
						syncml.Command{Name: "Get", Items: []syncml.Item{{
							Target: &syncml.Locator{LocURI: "./DevInfo/DevId"}}}})
					switch {
					case tt.nonce != nil:
						m.Header.Cred = md5Cred(dmauth.MD5Digest(testServerID,
							testServerPassword, tt.nonce))
					default:
						m.Header.Cred = tt.cred
					}
					return m
				},
				func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
					rejection = in
					return serverMessage(in, testServerNonce)
				},
			)
			err := ta.runSession(context.Background(), syncml.AlertClientInitiated)
			if !errors.Is(err, errServerAuth) {
				t.Errorf("err = %v, want errServerAuth", err)
			}
			srv.done()
			if rejection == nil {
				t.Fatal("no rejection message sent")
			}

			if len(rejection.Body.Commands) != 1 {
				t.Errorf("rejection has %d commands, want only the SyncHdr Status",
					len(rejection.Body.Commands))
			}
			hs := findCommand(rejection, "Status", "0")
			if hs == nil || hs.Data != "401" {
				t.Fatalf("rejection SyncHdr Status = %+v, want 401", hs)
			}
			if hs.Chal == nil || hs.Chal.Meta == nil {
				t.Fatalf("401 without a Chal")
			}
			nonce, _ := base64.StdEncoding.DecodeString(hs.Chal.Meta.NextNonce)
			if len(nonce) == 0 || !bytes.Equal(ta.account(t).ServerNonce, nonce) {
				t.Errorf("the challenged server nonce is not the stored one")
			}
		})
	}
}

func TestSessionNotEnrolled(t *testing.T) {
	dir := t.TempDir()
	drv := openSim(t, dir)
	a, err := New(Config{DataDir: dir, Driver: drv, SocketPath: shortSocketPath(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.runSession(context.Background(), 1201); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("err = %v, want ErrNotEnrolled", err)
	}
}

func TestSessionMessageLimit(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv)

	// A server that sends a Get in every message never ends the session.
	endless := func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
		nonce := testServerNonce
		if hs := findCommand(in, "Status", "0"); hs != nil && hs.Chal != nil {
			nonce, _ = base64.StdEncoding.DecodeString(hs.Chal.Meta.NextNonce)
		}
		return serverMessage(in, nonce, hdrStatus(in, 212, nil),
			syncml.Command{Name: "Get", Items: []syncml.Item{{
				Target: &syncml.Locator{LocURI: "./DevInfo/DevId"}}}})
	}
	steps := make([]step, ta.messageLimit())
	for i := range steps {
		steps[i] = endless
	}
	srv.script(steps...)

	err := ta.runSession(context.Background(), syncml.AlertClientInitiated)
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(ta.messageLimit())) {
		t.Errorf("err = %v, want the message limit", err)
	}
	srv.done()
}
