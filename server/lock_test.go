package server

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/server/dmsession"
	"github.com/virmo/virmo/store"
)

// TestLockStateMachine drives one VM through the lock states with the
// answers a device can give, and checks where each path ends.
func TestLockStateMachine(t *testing.T) {
	type step func(e *testEnv, device string) string

	lock := func(userUnlock bool) step {
		return func(e *testEnv, device string) string {
			resp, err := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: userUnlock})
			if err != nil {
				t.Fatalf("lock: %v", err)
			}
			return resp.Intent.ID
		}
	}
	unlock := func(e *testEnv, device string) string {
		resp, err := e.srv.Unlock(e.ctx, device, "vm1")
		if err != nil {
			t.Fatalf("unlock: %v", err)
		}
		return resp.Intent.ID
	}
	complete := func(e *testEnv, device, intent string) { e.completeIntent(device, intent) }
	// failExec answers the steps with 200 and the Exec with a result code.
	failExec := func(code int) func(e *testEnv, device, intent string) {
		return func(e *testEnv, device, intent string) {
			for _, c := range e.intentCommands(device, intent) {
				if payloadExec(c.Payload) {
					e.answer(c, store.CommandFailed, code)
				} else {
					e.answer(c, store.CommandDone, 200)
				}
			}
		}
	}
	// failFirst fails the intent's first command with a DM status.
	failFirst := func(state store.CommandState, status int) func(e *testEnv, device, intent string) {
		return func(e *testEnv, device, intent string) {
			e.answer(e.intentCommands(device, intent)[0], state, status)
		}
	}

	type action struct {
		request step
		answer  func(e *testEnv, device, intent string)
	}
	tests := []struct {
		name           string
		actions        []action
		wantLock       string
		wantIntent     string
		wantError      string
		wantUserUnlock bool
	}{
		{"lock confirmed", []action{{lock(false), complete}},
			store.LockLocked, store.IntentDone, "", false},
		{"lock with user unlock confirmed", []action{{lock(true), complete}},
			store.LockLocked, store.IntentDone, "", true},
		{"lock pending until answered", []action{{lock(true), nil}},
			store.LockPending, store.IntentPending, "", false},
		{"lock exec failed", []action{{lock(false), failExec(1402)}},
			store.LockUnlocked, store.IntentFailed, "1402 (lock failed)", false},
		{"lock add failed", []action{{lock(true), failFirst(store.CommandFailed, 500)}},
			store.LockUnlocked, store.IntentFailed, "status 500", false},
		{"lock never answered", []action{{lock(false), failFirst(store.CommandFailed, 0)}},
			store.LockUnlocked, store.IntentFailed, "no status", false},
		{"unlock confirmed", []action{{lock(true), complete}, {unlock, complete}},
			store.LockUnlocked, store.IntentDone, "", false},
		{"unlock pending until answered", []action{{lock(true), complete}, {unlock, nil}},
			store.LockUnlockPending, store.IntentPending, "", true},
		{"unlock exec failed", []action{{lock(true), complete}, {unlock, failExec(1404)}},
			store.LockLocked, store.IntentFailed, "1404 (unlock failed)", true},
		{"relock failed stays locked",
			[]action{{lock(false), complete}, {lock(true), failExec(1402)}},
			store.LockLocked, store.IntentFailed, "1402", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			device := e.deviceWithVM("vm1")

			var intent string
			for _, a := range tt.actions {
				intent = a.request(e, device)
				if a.answer != nil {
					a.answer(e, device, intent)
				}
			}

			v := e.vm(device, "vm1")
			if v.LockState != tt.wantLock {
				t.Errorf("lock state = %q, want %q", v.LockState, tt.wantLock)
			}
			if got := e.intent(intent).State; got != tt.wantIntent {
				t.Errorf("intent state = %q, want %q", got, tt.wantIntent)
			}
			if tt.wantError == "" && v.LockError != "" {
				t.Errorf("lock error = %q, want none", v.LockError)
			}
			if !strings.Contains(v.LockError, tt.wantError) {
				t.Errorf("lock error = %q, want it to contain %q", v.LockError, tt.wantError)
			}
			if tt.wantLock == store.LockLocked && tt.wantIntent == store.IntentDone && v.State != "paused" {
				t.Errorf("run state = %q, want paused after a confirmed lock", v.State)
			}
			if v.UserUnlock != tt.wantUserUnlock {
				t.Errorf("user unlock = %t, want %t", v.UserUnlock, tt.wantUserUnlock)
			}
		})
	}
}

// TestLockCommandsFollowWire checks the queued commands of a lock with
// user unlock against docs/wire.md.
func TestLockCommandsFollowWire(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	resp, err := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	if err != nil {
		t.Fatalf("lock: %v", err)
	}

	cmds := e.intentCommands(device, resp.Intent.ID)
	if len(cmds) != 2 {
		t.Fatalf("queued %d commands, want 2", len(cmds))
	}
	add := decodePayload(t, cmds[0])
	if add.Command.Name != "Add" || add.Command.Items[0].Target != "./VirMO/vm1/LockParams/UnlockAuth" {
		t.Errorf("first command = %+v, want Add of UnlockAuth", add.Command)
	}
	if len(add.AcceptStatuses) != 1 || add.AcceptStatuses[0] != 418 {
		t.Errorf("accept statuses = %v, want [418]", add.AcceptStatuses)
	}

	seq := decodePayload(t, cmds[1])
	if seq.Command.Name != "Sequence" {
		t.Fatalf("second command = %s, want Sequence", seq.Command.Name)
	}
	if seq.SecretID == "" || seq.SecretID != e.intent(resp.Intent.ID).SecretID {
		t.Errorf("secret ID = %q, want the intent's", seq.SecretID)
	}
	steps := seq.Command.Commands
	exec := steps[len(steps)-1]
	if exec.Name != "Exec" || exec.Items[0].Target != "./VirMO/vm1/Operations/Lock" {
		t.Errorf("last step = %+v, want Exec of Operations/Lock", exec)
	}
	if want := correlator(cmds[1].Seq); exec.Correlator != want {
		t.Errorf("correlator = %q, want %q (the command's own seq)", exec.Correlator, want)
	}
	var data []string
	for _, s := range steps[:len(steps)-1] {
		data = append(data, s.Items[0].Data)
	}
	want := []string{"0", dmsession.PlaceholderAuthData, dmsession.PlaceholderAuthDigest, "true"}
	if strings.Join(data, " ") != strings.Join(want, " ") {
		t.Errorf("step data = %v, want %v", data, want)
	}
	for _, c := range cmds {
		if strings.Contains(string(c.Payload), resp.Secret) {
			t.Errorf("payload of command %d contains the secret", c.Seq)
		}
	}
}

// TestCorrelatorAfterPrunedQueue checks that an Exec queued after the
// newest commands were pruned still carries its own seq.
func TestCorrelatorAfterPrunedQueue(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	for range 2 {
		resp, err := e.srv.Operation(e.ctx, device, "vm1", "stop")
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
		e.completeIntent(device, resp.Intent.ID)
	}
	e.clock.now = e.clock.now.Add(DefaultCommandRetention + 1)
	if err := e.srv.Prune(e.ctx); err != nil {
		t.Fatalf("prune: %v", err)
	}

	resp, err := e.srv.Operation(e.ctx, device, "vm1", "pause")
	if err != nil {
		t.Fatalf("pause: %v", err)
	}
	var live []store.Command
	for _, c := range e.intentCommands(device, resp.Intent.ID) {
		if c.State == store.CommandPending {
			live = append(live, c)
		}
	}
	if len(live) != 1 {
		t.Fatalf("pending commands = %d, want 1", len(live))
	}
	if got, want := decodePayload(t, live[0]).Command.Correlator, correlator(live[0].Seq); got != want {
		t.Errorf("correlator = %q, want %q", got, want)
	}
}

func TestLockRepeatedReturnsPendingIntent(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	first, err := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	second, err := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	if err != nil {
		t.Fatalf("repeat lock: %v", err)
	}

	if second.Intent.ID != first.Intent.ID {
		t.Errorf("repeated lock intent = %s, want %s", second.Intent.ID, first.Intent.ID)
	}
	if first.Secret == "" {
		t.Error("first lock returned no secret")
	}
	if second.Secret != "" {
		t.Error("repeated lock returned the secret again")
	}
	if n := len(e.intentCommands(device, first.Intent.ID)); n != 2 {
		t.Errorf("commands = %d, want 2 (no new commands)", n)
	}
}

func TestUnlockRepeatedReturnsPendingIntent(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{})
	e.completeIntent(device, lock.Intent.ID)

	first, err := e.srv.Unlock(e.ctx, device, "vm1")
	if err != nil {
		t.Fatalf("unlock: %v", err)
	}
	second, err := e.srv.Unlock(e.ctx, device, "vm1")
	if err != nil {
		t.Fatalf("repeat unlock: %v", err)
	}
	if second.Intent.ID != first.Intent.ID {
		t.Errorf("repeated unlock intent = %s, want %s", second.Intent.ID, first.Intent.ID)
	}
}

func TestUnlockSupersedesUnsentLock(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	secretID := e.intent(lock.Intent.ID).SecretID

	unlock, err := e.srv.Unlock(e.ctx, device, "vm1")
	if err != nil {
		t.Fatalf("unlock: %v", err)
	}

	old := e.intent(lock.Intent.ID)
	if old.State != store.IntentSuperseded {
		t.Errorf("lock intent state = %q, want superseded", old.State)
	}
	if !strings.Contains(old.Error, unlock.Intent.ID) {
		t.Errorf("lock intent error = %q, want it to name %s", old.Error, unlock.Intent.ID)
	}
	for _, c := range e.intentCommands(device, lock.Intent.ID) {
		if c.State != store.CommandCancelled {
			t.Errorf("lock command %d state = %q, want cancelled", c.Seq, c.State)
		}
	}
	sec, err := e.store.GetSecret(e.ctx, secretID)
	if err != nil {
		t.Fatalf("get secret: %v", err)
	}
	if sec.DestroyedAt.IsZero() {
		t.Error("secret of an unsent lock survived its supersession")
	}
	if got := e.vm(device, "vm1").LockState; got != store.LockUnlockPending {
		t.Errorf("lock state = %q, want unlock_pending", got)
	}
}

func TestUnlockSupersedesSentLock(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	cmds := e.intentCommands(device, lock.Intent.ID)
	for _, c := range cmds {
		c.State = store.CommandSent
		if err := e.store.UpdateCommand(e.ctx, c); err != nil {
			t.Fatalf("mark sent: %v", err)
		}
	}

	if _, err := e.srv.Unlock(e.ctx, device, "vm1"); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	for _, c := range e.intentCommands(device, lock.Intent.ID) {
		if c.State != store.CommandSent {
			t.Errorf("sent command %d state = %q, want it left sent", c.Seq, c.State)
		}
	}
	sec, _ := e.store.GetSecret(e.ctx, e.intent(lock.Intent.ID).SecretID)
	if !sec.DestroyedAt.IsZero() {
		t.Error("secret destroyed although the device may have it")
	}

	// The device's late answer to the superseded lock changes nothing.
	e.answer(cmds[1], store.CommandDone, 1200)
	if got := e.vm(device, "vm1").LockState; got != store.LockUnlockPending {
		t.Errorf("lock state = %q, want unlock_pending", got)
	}
}

func TestLockDifferentRequestSupersedes(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	first, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{})
	second, err := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	if err != nil {
		t.Fatalf("lock with user unlock: %v", err)
	}

	if second.Intent.ID == first.Intent.ID {
		t.Fatal("a different lock request returned the pending intent")
	}
	if second.Secret == "" {
		t.Error("superseding lock returned no secret")
	}
	if got := e.intent(first.Intent.ID).State; got != store.IntentSuperseded {
		t.Errorf("first intent state = %q, want superseded", got)
	}
}

func TestUnlockOfUnlockedConflict(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	_, err := e.srv.Unlock(e.ctx, device, "vm1")
	wantStatus(t, err, http.StatusConflict)
}

func TestStartWhileLockedRejected(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, _ := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{})
	e.completeIntent(device, lock.Intent.ID)

	for _, op := range []string{"start", "resume"} {
		_, err := e.srv.Operation(e.ctx, device, "vm1", op)
		apiErr := wantStatus(t, err, http.StatusConflict)
		if !strings.Contains(apiErr.Message, "unlock it first") {
			t.Errorf("%s error = %q, want it to say to unlock first", op, apiErr.Message)
		}
	}
	if _, err := e.srv.Operation(e.ctx, device, "vm1", "stop"); err != nil {
		t.Errorf("stop of a locked VM: %v", err)
	}
}

func TestOperationSetsObservedState(t *testing.T) {
	tests := []struct {
		op, want string
	}{
		{"stop", "stopped"},
		{"pause", "paused"},
		{"resume", "running"},
		{"start", "running"},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			e := newTestEnv(t)
			device := e.deviceWithVM("vm1")
			e.observe(device, dmsession.ObservedVM{Name: "vm1", State: 50})
			resp, err := e.srv.Operation(e.ctx, device, "vm1", tt.op)
			if err != nil {
				t.Fatalf("%s: %v", tt.op, err)
			}
			if got := e.vm(device, "vm1").State; got != "failed" {
				t.Errorf("state before the answer = %q, want failed", got)
			}
			e.completeIntent(device, resp.Intent.ID)
			if got := e.vm(device, "vm1").State; got != tt.want {
				t.Errorf("state = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLockUnknownVMListsKnown(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	e.observe(device, dmsession.ObservedVM{Name: "vm1"}, dmsession.ObservedVM{Name: "vm2"})

	_, err := e.srv.Lock(e.ctx, device, "vm9", api.LockRequest{})
	apiErr := wantStatus(t, err, http.StatusNotFound)
	if !strings.Contains(apiErr.Message, "vm1, vm2") {
		t.Errorf("message = %q, want the known VMs vm1, vm2", apiErr.Message)
	}
	_, err = e.srv.Lock(e.ctx, "dev-nope", "vm1", api.LockRequest{})
	wantStatus(t, err, http.StatusNotFound)
}

func TestGeneratedSecretFormat(t *testing.T) {
	pattern := regexp.MustCompile(`^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$`)
	seen := map[string]bool{}
	for range 200 {
		secret, err := generateSecret()
		if err != nil {
			t.Fatalf("generate secret: %v", err)
		}
		if !pattern.MatchString(secret) {
			t.Fatalf("secret %q does not match XXXX-XXXX-XXXX of the alphabet", secret)
		}
		seen[secret] = true
	}
	if len(seen) != 200 {
		t.Errorf("%d distinct secrets of 200", len(seen))
	}
}

func TestOperatorSecretValidation(t *testing.T) {
	tests := []struct {
		name   string
		req    api.LockRequest
		want   string
		secret string
	}{
		{"too short", api.LockRequest{UserUnlock: true, Secret: "abc"}, "3 bytes long", "abc"},
		{"too long", api.LockRequest{UserUnlock: true, Secret: strings.Repeat("x", 129)},
			"129 bytes long", strings.Repeat("x", 129)},
		{"invalid utf-8", api.LockRequest{UserUnlock: true, Secret: "ab\xffcd"}, "UTF-8", "ab\xffcd"},
		{"replacement character", api.LockRequest{UserUnlock: true, Secret: "ab\uFFFDcd"}, "UTF-8",
			"ab\uFFFDcd"},
		{"newline", api.LockRequest{UserUnlock: true, Secret: "abcd\nefg"}, "control character at byte 4",
			"abcd\nefg"},
		{"tab", api.LockRequest{UserUnlock: true, Secret: "\tabcdefg"}, "control character at byte 0",
			"\tabcdefg"},
		{"delete", api.LockRequest{UserUnlock: true, Secret: "abcd\x7f"}, "control character", "abcd\x7f"},
		{"without user unlock", api.LockRequest{Secret: "hunter22"}, "user_unlock", "hunter22"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			device := e.deviceWithVM("vm1")
			_, err := e.srv.Lock(e.ctx, device, "vm1", tt.req)
			apiErr := wantStatus(t, err, http.StatusBadRequest)
			if !strings.Contains(apiErr.Message, tt.want) {
				t.Errorf("message = %q, want it to contain %q", apiErr.Message, tt.want)
			}
			if strings.Contains(apiErr.Message, tt.secret) {
				t.Errorf("message %q contains the secret", apiErr.Message)
			}
			if got := e.vm(device, "vm1").LockState; got != store.LockUnlocked {
				t.Errorf("lock state = %q, want unlocked (nothing applied)", got)
			}
		})
	}
}

func TestOperatorSecretAccepted(t *testing.T) {
	for _, secret := range []string{"0123", "  pässwörd 🔒 with spaces  "} {
		e := newTestEnv(t)
		device := e.deviceWithVM("vm1")
		resp, err := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true, Secret: secret})
		if err != nil {
			t.Fatalf("lock with %q: %v", secret, err)
		}
		if resp.Secret != secret {
			t.Errorf("secret = %q, want the operator's %q unchanged", resp.Secret, secret)
		}
	}
}

func TestLockBodyInvalidUTF8(t *testing.T) {
	e := newTestEnv(t)
	url, token := e.serve()
	device := e.deviceWithVM("vm1")
	tests := []struct {
		name, body, want string
	}{
		{"raw byte", "{\"user_unlock\":true,\"secret\":\"ab\xffcd\"}", "not valid UTF-8 at byte 32"},
		{"lone surrogate escape", `{"user_unlock":true,"secret":"ab\ud800cd"}`, "secret is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", url+"/api/v1/devices/"+device+"/vms/vm1/lock",
				strings.NewReader(tt.body))
			if err != nil {
				t.Fatalf("build request: %v", err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400 (body %s)", resp.StatusCode, body)
			}
			if !strings.Contains(string(body), tt.want) {
				t.Errorf("body = %s, want it to contain %q", body, tt.want)
			}
			if got := e.vm(device, "vm1").LockState; got != store.LockUnlocked {
				t.Errorf("lock state = %q, want unlocked", got)
			}
		})
	}
}
