package agent

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/virmo/virmo/agent/unlock"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/mo/virmo"
	"github.com/virmo/virmo/syncml"
)

// lockWithUserUnlock returns the commands a server sends to lock vm1 with
// user unlock, as the wire conventions give them.
func lockWithUserUnlock(authData, digest []byte) []syncml.Command {
	target := func(uri string) *syncml.Locator { return &syncml.Locator{LocURI: uri} }
	value := func(uri, format, data string) syncml.Item {
		return syncml.Item{Target: target(uri), Meta: &syncml.Meta{Format: format},
			Data: syncml.NewData(data)}
	}
	base := "./VirMO/vm1/LockParams/"
	return []syncml.Command{
		{Name: "Add", Items: []syncml.Item{{Target: target(base + "UnlockAuth"),
			Meta: &syncml.Meta{Format: "node"}}}},
		{Name: "Sequence", Commands: []syncml.Command{
			{Name: "Replace", CmdID: "s1", Items: []syncml.Item{
				value(base+"UnlockAuth/AuthType", "int", "0"),
				value(base+"UnlockAuth/AuthData", "b64", base64.StdEncoding.EncodeToString(authData)),
				value(base+"UnlockAuth/AuthDigest", "b64", base64.StdEncoding.EncodeToString(digest)),
			}},
			{Name: "Replace", CmdID: "s2", Items: []syncml.Item{value(base+"UserUnlock", "bool", "true")}},
			{Name: "Exec", CmdID: "s3", Correlator: "c1", Items: []syncml.Item{
				{Target: target("./VirMO/vm1/Operations/Lock")}}},
		}},
	}
}

func TestRunLockThenUserUnlock(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv, func(c *Config) {
		c.PollInterval = time.Hour
		c.SyncInterval = time.Hour
	})
	secret := []byte("0123-Zq9X")
	authData := []byte("0123456789abcdef")
	serverNonce := testServerNonce
	locked := make(chan struct{})
	reported := make(chan struct{})

	srv.script(
		// First session: lock vm1 with user unlock.
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			cmds := append([]syncml.Command{hdrStatus(in, 212, nil)},
				lockWithUserUnlock(authData, virmo.UnlockDigest(secret, authData))...)
			return serverMessage(in, serverNonce, cmds...)
		},
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			serverNonce = nextServerNonce(in, serverNonce)
			defer close(locked)
			for _, c := range in.Body.Commands {
				if c.Name == "Status" && c.Data != "200" && c.Data != "202" && c.Data != "212" {
					t.Errorf("lock command %s (CmdRef %s) got status %s", c.Cmd, c.CmdRef, c.Data)
				}
			}
			alert := findCommand(in, "Alert", "")
			if alert == nil || alert.Correlator != "c1" {
				t.Errorf("no OperationComplete alert for c1")
				return serverMessage(in, serverNonce, hdrStatus(in, 212, nil))
			}
			return serverMessage(in, serverNonce, hdrStatus(in, 212, nil),
				statusFor(in, alert.CmdID, "Alert", 200))
		},
		// Second session, started by the alert of the user unlock.
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			defer close(reported)
			var alert *syncml.Command
			for i := range in.Body.Commands {
				c := &in.Body.Commands[i]
				if c.Name == "Alert" && c.Data == "1226" {
					alert = c
				}
			}
			if alert == nil || len(alert.Items) != 1 || alert.Items[0].Meta == nil ||
				alert.Items[0].Meta.Type != virmo.AlertUserUnlock || alert.Items[0].Data == nil ||
				alert.Items[0].Data.Value != "1200" {
				t.Errorf("Package 1 lacks the UserUnlock alert with 1200: %+v", in.Body.Commands)
				return serverMessage(in, serverNonce, hdrStatus(in, 212, nil))
			}
			return serverMessage(in, serverNonce, hdrStatus(in, 212, nil),
				statusFor(in, alert.CmdID, "Alert", 200))
		},
	)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ta.Run(ctx) }()
	<-locked

	vm, err := ta.drv.Get(ctx, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if vm.State != hypervisor.StatePaused {
		t.Errorf("vm1 is %s after the lock, want paused", vm.State)
	}

	socket := ta.cfg.SocketPath
	st, err := UnlockStatus(ctx, socket, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Locked || !st.UserUnlock || st.AttemptsLeft != virmo.DefaultMaxUnlockAttempts {
		t.Errorf("status before unlock = %+v", st)
	}

	// "123-Zq9X" is not "0123-Zq9X": the secret is bytes, never a number.
	err = Unlock(ctx, socket, "vm1", []byte("123-Zq9X"))
	var refused *UnlockError
	if !errors.As(err, &refused) || refused.Code != unlock.CodeWrongSecret {
		t.Fatalf("wrong secret: err = %v, want wrong_secret", err)
	}
	if refused.AttemptsLeft != virmo.DefaultMaxUnlockAttempts-1 {
		t.Errorf("attempts left = %d, want %d", refused.AttemptsLeft,
			virmo.DefaultMaxUnlockAttempts-1)
	}

	if err := Unlock(ctx, socket, "vm1", secret); err != nil {
		t.Fatalf("unlock with the right secret: %v", err)
	}
	<-reported

	vm, err = ta.drv.Get(ctx, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if vm.State != hypervisor.StateRunning {
		t.Errorf("vm1 is %s after the user unlock, want running", vm.State)
	}
	if err := Unlock(ctx, socket, "vm1", secret); !errors.As(err, &refused) ||
		refused.Code != unlock.CodeNotLocked {
		t.Errorf("second unlock: err = %v, want not_locked", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	if _, err := os.Stat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unlock socket left behind after Run: %v", err)
	}
	srv.done()
	checkNoSecretsLogged(t, ta, serverNonce)
	if logs := ta.logs.String(); containsAny(logs, string(secret), base64.StdEncoding.EncodeToString(secret)) {
		t.Errorf("log contains the unlock secret:\n%s", logs)
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestRunTamperStartsSession checks that a VM resumed behind the agent's
// back while locked is paused again and reported in a session that starts
// at once, without waiting for the poll interval.
func TestRunTamperStartsSession(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv, func(c *Config) {
		c.PollInterval = time.Hour
		c.SyncInterval = 10 * time.Millisecond
	})
	serverNonce := testServerNonce
	locked := make(chan struct{})
	reported := make(chan *syncml.Command, 1)

	srv.script(
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			return serverMessage(in, serverNonce, hdrStatus(in, 212, nil),
				syncml.Command{Name: "Exec", Correlator: "c1", Items: []syncml.Item{{
					Target: &syncml.Locator{LocURI: "./VirMO/vm1/Operations/Lock"}}}})
		},
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			serverNonce = nextServerNonce(in, serverNonce)
			defer close(locked)
			alert := findCommand(in, "Alert", "")
			if alert == nil {
				t.Errorf("no OperationComplete alert for the lock")
				return serverMessage(in, serverNonce, hdrStatus(in, 212, nil))
			}
			return serverMessage(in, serverNonce, hdrStatus(in, 212, nil),
				statusFor(in, alert.CmdID, "Alert", 200))
		},
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			var alert *syncml.Command
			for i := range in.Body.Commands {
				if c := &in.Body.Commands[i]; c.Name == "Alert" && c.Data == "1226" {
					alert = c
				}
			}
			reported <- alert
			if alert == nil {
				return serverMessage(in, serverNonce, hdrStatus(in, 212, nil))
			}
			return serverMessage(in, serverNonce, hdrStatus(in, 212, nil),
				statusFor(in, alert.CmdID, "Alert", 200))
		},
	)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ta.Run(ctx) }()
	<-locked

	if err := ta.drv.Resume(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	alert := <-reported
	switch {
	case alert == nil:
		t.Errorf("session after the tamper carries no alert")
	case len(alert.Items) != 1 || alert.Items[0].Meta == nil:
		t.Errorf("tamper alert items = %+v", alert.Items)
	default:
		meta := alert.Items[0].Meta
		if meta.Type != "urn:oma:at:virmo:1.0:StateChange" || meta.Mark != "critical" {
			t.Errorf("tamper alert type %q mark %q, want StateChange critical", meta.Type, meta.Mark)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	vm, err := ta.drv.Get(context.Background(), "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if vm.State != hypervisor.StatePaused {
		t.Errorf("vm1 is %s after the tamper, want paused again", vm.State)
	}
	srv.done()
}
