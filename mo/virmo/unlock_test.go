package virmo

import (
	"encoding/hex"
	"testing"

	"github.com/virmo/virmo/hypervisor"
)

func TestUnlockDigestVector(t *testing.T) {
	got := hex.EncodeToString(UnlockDigest(vectorSecret, vectorAuthData))
	if got != vectorDigestHex {
		t.Errorf("UnlockDigest = %s, want %s", got, vectorDigestHex)
	}
}

func TestUserUnlockOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		secret   string // provisioned secret; "" locks without user unlock
		lock     bool
		vm       string
		typed    string
		wantCode string
		wantLeft int
	}{
		{"right secret", "1234", true, "vm1", "1234", UnlockOK, 5},
		{"wrong secret", "1234", true, "vm1", "4321", UnlockWrongSecret, 4},
		{"leading zero matters", "0123", true, "vm1", "123", UnlockWrongSecret, 4},
		{"trailing space matters", "1234", true, "vm1", "1234 ", UnlockWrongSecret, 4},
		{"prefix is not enough", "1234", true, "vm1", "12", UnlockWrongSecret, 4},
		{"empty secret", "1234", true, "vm1", "", UnlockWrongSecret, 4},
		{"not locked", "1234", false, "vm1", "1234", UnlockNotLocked, 5},
		{"user unlock not provisioned", "", true, "vm1", "1234", UnlockNotAllowed, 5},
		{"unknown VM", "1234", true, "vm2", "1234", UnlockNoSuchVM, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
			switch {
			case tt.lock && tt.secret != "":
				h.lockWithUserUnlock("vm1", []byte(tt.secret), "c1")
			case tt.lock:
				h.run(provServer, execCmd("./VirMO/vm1/Operations/Lock", "c1"))
			}

			res, err := h.mo.UserUnlock(t.Context(), tt.vm, []byte(tt.typed))

			if err != nil {
				t.Fatalf("UserUnlock: %v", err)
			}
			if res.Code != tt.wantCode {
				t.Errorf("Code = %q, want %q", res.Code, tt.wantCode)
			}
			if res.AttemptsLeft != tt.wantLeft {
				t.Errorf("AttemptsLeft = %d, want %d", res.AttemptsLeft, tt.wantLeft)
			}
		})
	}
}

func TestUserUnlockSuccessCommitsOnce(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
	h.lockWithUserUnlock("vm1", vectorSecret, "c1")
	commitsBefore := len(h.commits)

	res, err := h.mo.UserUnlock(t.Context(), "vm1", vectorSecret)

	if err != nil || res.Code != UnlockOK {
		t.Fatalf("UserUnlock = %+v, %v, want ok", res, err)
	}
	if n := len(h.commits) - commitsBefore; n != 1 {
		t.Fatalf("user unlock made %d commits, want 1", n)
	}
	if got := h.vmState("vm1"); got != hypervisor.StateRunning {
		t.Errorf("VM state = %s, want running", got)
	}
	if !h.drv.UserAccess("vm1") {
		t.Error("user access is still blocked")
	}
	checks := []struct{ path, want string }{
		{pathLockState, "0"},
		{pathLAWMOState, "30"},
		{pathState, "20"},
		{pathUnlockAttempts, "0"},
		{pathUserUnlock, "false"},
	}
	for _, c := range checks {
		if got := h.value("vm1", c.path); got != c.want {
			t.Errorf("%s = %q, want %q", c.path, got, c.want)
		}
	}
	if h.exists("vm1", pathUnlockAuth) {
		t.Error("UnlockAuth still exists after a single-use unlock")
	}

	alerts := h.lastCommit().alerts
	if len(alerts) != 1 {
		t.Fatalf("unlock commit has %d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	if a.Type != AlertUserUnlock || a.Data != "1200" || a.Source != "./VirMO/vm1/LockParams" {
		t.Errorf("alert = %+v, want UserUnlock 1200 from ./VirMO/vm1/LockParams", a)
	}
}

func TestUserUnlockReusableSecret(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
	h.run(provServer, replaceCmd("./VirMO/vm1/Ext/SingleUseUnlock", "bool", "false"))
	h.lockWithUserUnlock("vm1", vectorSecret, "c1")

	res, err := h.mo.UserUnlock(t.Context(), "vm1", vectorSecret)

	if err != nil || res.Code != UnlockOK {
		t.Fatalf("UserUnlock = %+v, %v, want ok", res, err)
	}
	if !h.exists("vm1", pathUnlockAuth) {
		t.Error("UnlockAuth was deleted although SingleUseUnlock is false")
	}
	if got := h.value("vm1", pathUserUnlock); got != "true" {
		t.Errorf("UserUnlock = %q, want true", got)
	}
}

func TestUserUnlockAttemptLimit(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
	h.lockWithUserUnlock("vm1", vectorSecret, "c1")
	alertsBefore := len(h.alerts())

	wantLeft := []int{4, 3, 2, 1}
	for i, left := range wantLeft {
		res, err := h.mo.UserUnlock(t.Context(), "vm1", []byte("0000"))
		if err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		if res.Code != UnlockWrongSecret || res.AttemptsLeft != left {
			t.Errorf("attempt %d = %+v, want wrong_secret with %d left", i+1, res, left)
		}
	}
	if n := len(h.alerts()) - alertsBefore; n != 0 {
		t.Errorf("%d alerts before the limit, want none", n)
	}

	res, err := h.mo.UserUnlock(t.Context(), "vm1", []byte("0000"))
	if err != nil || res.Code != UnlockAttemptsExhausted {
		t.Fatalf("fifth attempt = %+v, %v, want attempts_exhausted", res, err)
	}
	alerts := h.alerts()[alertsBefore:]
	if len(alerts) != 1 {
		t.Fatalf("%d alerts at the limit, want 1", len(alerts))
	}
	if a := alerts[0]; a.Type != AlertUserUnlock || a.Data != "1404" || a.Mark != MarkCritical {
		t.Errorf("alert = %+v, want UserUnlock 1404 critical", a)
	}

	res, err = h.mo.UserUnlock(t.Context(), "vm1", vectorSecret)
	if err != nil || res.Code != UnlockAttemptsExhausted {
		t.Errorf("right secret after the limit = %+v, %v, want attempts_exhausted", res, err)
	}
	if got := h.vmState("vm1"); got != hypervisor.StatePaused {
		t.Errorf("VM state = %s, want paused", got)
	}
	if n := len(h.alerts()) - alertsBefore; n != 1 {
		t.Errorf("%d alerts after a rejected attempt, want still 1", n)
	}
	if got := h.value("vm1", pathUnlockAttempts); got != "5" {
		t.Errorf("UnlockAttempts = %q, want 5", got)
	}
}

func TestUnlockCounterSurvivesRestart(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
	h.lockWithUserUnlock("vm1", vectorSecret, "c1")
	for range 2 {
		if _, err := h.mo.UserUnlock(t.Context(), "vm1", []byte("9999")); err != nil {
			t.Fatalf("UserUnlock: %v", err)
		}
	}

	h.mount(h.lastCommit().snapshot)

	locked, userUnlock, left, err := h.mo.UnlockStatus("vm1")
	if err != nil {
		t.Fatalf("UnlockStatus: %v", err)
	}
	if !locked || !userUnlock {
		t.Errorf("UnlockStatus locked=%v userUnlock=%v, want both true", locked, userUnlock)
	}
	if left != 3 {
		t.Errorf("attempts left after reload = %d, want 3", left)
	}
	res, err := h.mo.UserUnlock(t.Context(), "vm1", vectorSecret)
	if err != nil || res.Code != UnlockOK {
		t.Errorf("UserUnlock after reload = %+v, %v, want ok", res, err)
	}
}

func TestFailedAttemptNeedsDurableCount(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
	h.lockWithUserUnlock("vm1", vectorSecret, "c1")
	h.failing = true

	res, err := h.mo.UserUnlock(t.Context(), "vm1", []byte("0000"))

	if err == nil {
		t.Fatalf("UserUnlock = %+v with a failing store, want an error", res)
	}
	if res.Code != "" {
		t.Errorf("Code = %q, want none", res.Code)
	}
	h.failing = false
	if _, _, left, _ := h.mo.UnlockStatus("vm1"); left != 5 {
		t.Errorf("attempts left = %d, want 5 since nothing was stored", left)
	}
}

func TestUnlockStatusNoSuchVM(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})

	_, _, _, err := h.mo.UnlockStatus("vm9")

	if err != ErrNoSuchVM {
		t.Errorf("UnlockStatus error = %v, want ErrNoSuchVM", err)
	}
}
