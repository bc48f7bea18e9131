package virmo

import (
	"slices"
	"strconv"
	"testing"

	"github.com/virmo/virmo/hypervisor"
)

func TestLockWithUserUnlockSequence(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})

	codes := h.lockWithUserUnlock("vm1", vectorSecret, "c7")

	// Sequence, three Replaces of UnlockAuth, Replace UserUnlock, Exec.
	if want := []int{200, 200, 200, 200, 200, 202}; !slices.Equal(codes, want) {
		t.Fatalf("Sequence statuses = %v, want %v", codes, want)
	}
	if got := h.vmState("vm1"); got != hypervisor.StatePaused {
		t.Errorf("VM state = %s, want paused", got)
	}
	checks := []struct{ path, want string }{
		{pathLockState, "1"},
		{pathLAWMOState, "10"},
		{pathState, "30"},
		{pathUserUnlock, "true"},
		{pathLockGeneration, "1"},
		{pathResumeOnUnlock, "true"},
	}
	for _, c := range checks {
		if got := h.value("vm1", c.path); got != c.want {
			t.Errorf("%s = %q, want %q", c.path, got, c.want)
		}
	}

	last := h.lastCommit()
	if len(last.alerts) != 1 {
		t.Fatalf("commit of the Sequence has %d alerts, want 1", len(last.alerts))
	}
	a := last.alerts[0]
	if a.Type != AlertOperationComplete || a.Correlator != "c7" || a.Data != "1200" {
		t.Errorf("alert = %+v, want OperationComplete c7 1200", a)
	}
	if a.Source != "./VirMO/vm1/Operations/Lock" || a.Target != "./VirMO/vm1" {
		t.Errorf("alert Source/Target = %q/%q", a.Source, a.Target)
	}
	if a.Format != "int" || a.Mark != MarkInformational {
		t.Errorf("alert Format/Mark = %q/%q, want int/informational", a.Format, a.Mark)
	}
}

func TestLockSequenceWrongOrder(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
	base := "./VirMO/vm1/LockParams/"
	h.run(provServer, addNodeCmd(base+"UnlockAuth"))
	before := len(h.alerts())

	digest := UnlockDigest(vectorSecret, vectorAuthData)
	codes := h.run(provServer, sequence(
		replaceCmd(base+"UserUnlock", "bool", "true"),
		replaceCmd(base+"UnlockAuth/AuthData", "b64", b64(vectorAuthData)),
		replaceCmd(base+"UnlockAuth/AuthDigest", "b64", b64(digest)),
		execCmd("./VirMO/vm1/Operations/Lock", "c1"),
	))

	if want := []int{200, 403, 215, 215, 215}; !slices.Equal(codes, want) {
		t.Fatalf("Sequence statuses = %v, want %v", codes, want)
	}
	if got := h.value("vm1", pathUserUnlock); got != "false" {
		t.Errorf("UserUnlock = %q, want false", got)
	}
	if got := h.value("vm1", pathAuthDigest); got != "" {
		t.Errorf("AuthDigest was changed to %x", got)
	}
	if got := h.value("vm1", pathLockState); got != "0" {
		t.Errorf("LockParams/State = %q, want 0", got)
	}
	if got := h.vmState("vm1"); got != hypervisor.StateRunning {
		t.Errorf("VM state = %s, want running", got)
	}
	if n := len(h.alerts()); n != before {
		t.Errorf("%d alerts queued, want none", n-before)
	}
}

func TestUserUnlockTrueRejected(t *testing.T) {
	base := "./VirMO/vm1/LockParams/"
	digest := b64(UnlockDigest(vectorSecret, vectorAuthData))
	tests := []struct {
		name  string
		setup []string // leaves replaced before: "data", "digest"
		add   bool
	}{
		{name: "UnlockAuth missing"},
		{name: "AuthData and AuthDigest empty", add: true},
		{name: "AuthDigest empty", add: true, setup: []string{"data"}},
		{name: "AuthData empty", add: true, setup: []string{"digest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateStopped})
			if tt.add {
				h.run(provServer, addNodeCmd(base+"UnlockAuth"))
			}
			for _, s := range tt.setup {
				switch s {
				case "data":
					h.run(provServer, replaceCmd(base+"UnlockAuth/AuthData", "b64", b64(vectorAuthData)))
				case "digest":
					h.run(provServer, replaceCmd(base+"UnlockAuth/AuthDigest", "b64", digest))
				}
			}

			codes := h.run(provServer, replaceCmd(base+"UserUnlock", "bool", "true"))

			if !slices.Equal(codes, []int{403}) {
				t.Errorf("Replace UserUnlock true = %v, want [403]", codes)
			}
			if got := h.value("vm1", pathUserUnlock); got != "false" {
				t.Errorf("UserUnlock = %q, want false", got)
			}
		})
	}
}

func TestServerCommandRules(t *testing.T) {
	base := "./VirMO/vm1/"
	tests := []struct {
		name   string
		server string
		cmd    func() []int
		want   int
	}{
		{"LockParams/State Replace", provServer, nil, 405},
		{"AuthType 1", provServer, nil, 415},
		{"AuthDigest Get by other server", otherServer, nil, 425},
		{"AuthDigest Get by provisioning server", provServer, nil, 200},
		{"AuthDigest Replace by other server", otherServer, nil, 425},
		{"VMID Replace", provServer, nil, 405},
		{"MaxUnlockAttempts 0", provServer, nil, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateStopped})
			h.run(provServer, addNodeCmd(base+"LockParams/UnlockAuth"))

			var got int
			switch tt.name {
			case "LockParams/State Replace":
				got = h.run(tt.server, replaceCmd(base+"LockParams/State", "int", "1"))[0]
			case "AuthType 1":
				got = h.run(tt.server, replaceCmd(base+"LockParams/UnlockAuth/AuthType", "int", "1"))[0]
			case "AuthDigest Get by other server", "AuthDigest Get by provisioning server":
				got, _ = h.get(tt.server, base+"LockParams/UnlockAuth/AuthDigest")
			case "AuthDigest Replace by other server":
				got = h.run(tt.server, replaceCmd(base+"LockParams/UnlockAuth/AuthDigest",
					"b64", b64([]byte("x"))))[0]
			case "VMID Replace":
				got = h.run(tt.server, replaceCmd(base+"VMID", "chr", "x"))[0]
			case "MaxUnlockAttempts 0":
				got = h.run(tt.server, replaceCmd(base+"Ext/MaxUnlockAttempts", "int", "0"))[0]
			}
			if got != tt.want {
				t.Errorf("status = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestLockStateUnchangedAfter405(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})

	h.run(provServer, replaceCmd("./VirMO/vm1/LockParams/State", "int", "1"))

	if got := h.value("vm1", pathLockState); got != "0" {
		t.Errorf("LockParams/State = %q, want 0", got)
	}
	if got := h.vmState("vm1"); got != hypervisor.StateRunning {
		t.Errorf("VM state = %s, want running", got)
	}
}

func TestAddUnlockAuthCreatesChildren(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateStopped})

	codes := h.run(provServer, addNodeCmd("./VirMO/vm1/LockParams/UnlockAuth"))

	if !slices.Equal(codes, []int{200}) {
		t.Fatalf("Add UnlockAuth = %v, want [200]", codes)
	}
	if got := h.value("vm1", pathAuthType); got != "0" {
		t.Errorf("AuthType = %q, want 0", got)
	}
	if got := h.value("vm1", pathAuthData); got != "" {
		t.Errorf("AuthData = %x, want empty", got)
	}
	if got := h.value("vm1", pathAuthDigest); got != "" {
		t.Errorf("AuthDigest = %x, want empty", got)
	}
	if again := h.run(provServer, addNodeCmd("./VirMO/vm1/LockParams/UnlockAuth")); again[0] != 418 {
		t.Errorf("second Add UnlockAuth = %v, want 418", again)
	}
}

func TestDeleteUnlockAuthClearsUserUnlock(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
	h.lockWithUserUnlock("vm1", vectorSecret, "c1")

	codes := h.run(provServer, deleteCmd("./VirMO/vm1/LockParams/UnlockAuth"))

	if !slices.Equal(codes, []int{200}) {
		t.Fatalf("Delete UnlockAuth = %v, want [200]", codes)
	}
	if h.exists("vm1", pathUnlockAuth) {
		t.Error("UnlockAuth still exists")
	}
	if got := h.value("vm1", pathUserUnlock); got != "false" {
		t.Errorf("UserUnlock = %q, want false", got)
	}
}

func TestReprovisionResetsAttempts(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
	h.lockWithUserUnlock("vm1", vectorSecret, "c1")
	for range 2 {
		if _, err := h.mo.UserUnlock(t.Context(), "vm1", []byte("wrong")); err != nil {
			t.Fatalf("UserUnlock: %v", err)
		}
	}

	h.run(provServer, replaceCmd("./VirMO/vm1/Ext/MaxUnlockAttempts", "int", "7"))
	if got := h.value("vm1", pathUnlockAttempts); got != "2" {
		t.Errorf("UnlockAttempts after MaxUnlockAttempts Replace = %q, want 2", got)
	}

	digest := b64(UnlockDigest([]byte("5678"), vectorAuthData))
	h.run(provServer, replaceCmd("./VirMO/vm1/LockParams/UnlockAuth/AuthDigest", "b64", digest))
	if got := h.value("vm1", pathUnlockAttempts); got != "0" {
		t.Errorf("UnlockAttempts after AuthDigest Replace = %q, want 0", got)
	}
}

func TestOperationsWhileLocked(t *testing.T) {
	tests := []struct {
		op         string
		correlator string
		wantStatus int
		wantData   string
	}{
		{OpStart, "c1", 202, "1413"},
		{OpResume, "c2", 202, "1413"},
		{OpStart, "", 403, ""},
		{OpResume, "", 403, ""},
		{OpStop, "c3", 202, "1200"},
	}
	for _, tt := range tests {
		t.Run(tt.op+"/"+tt.correlator, func(t *testing.T) {
			h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
			h.run(provServer, execCmd("./VirMO/vm1/Operations/Lock", "c0"))
			before := len(h.alerts())

			codes := h.run(provServer, execCmd("./VirMO/vm1/Operations/"+tt.op, tt.correlator))

			if !slices.Equal(codes, []int{tt.wantStatus}) {
				t.Errorf("Exec %s = %v, want [%d]", tt.op, codes, tt.wantStatus)
			}
			alerts := h.alerts()[before:]
			if tt.wantData == "" {
				if len(alerts) != 0 {
					t.Errorf("Exec without Correlator queued %d alerts", len(alerts))
				}
				if got := h.vmState("vm1"); got != hypervisor.StatePaused {
					t.Errorf("VM state = %s, want paused", got)
				}
				return
			}
			if len(alerts) != 1 || alerts[0].Data != tt.wantData || alerts[0].Correlator != tt.correlator {
				t.Fatalf("alerts = %+v, want one with Data %s", alerts, tt.wantData)
			}
		})
	}
}

func TestUnlockResumesOnlyIfRunning(t *testing.T) {
	tests := []struct {
		name  string
		start hypervisor.RunState
		want  hypervisor.RunState
	}{
		{"running VM", hypervisor.StateRunning, hypervisor.StateRunning},
		{"paused VM", hypervisor.StatePaused, hypervisor.StatePaused},
		{"stopped VM", hypervisor.StateStopped, hypervisor.StateStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, map[string]hypervisor.RunState{"vm1": tt.start})

			h.run(provServer, execCmd("./VirMO/vm1/Operations/Lock", "c1"))
			codes := h.run(provServer, execCmd("./VirMO/vm1/Operations/Unlock", "c2"))

			if !slices.Equal(codes, []int{202}) {
				t.Fatalf("Exec Unlock = %v, want [202]", codes)
			}
			if got := h.vmState("vm1"); got != tt.want {
				t.Errorf("VM state after unlock = %s, want %s", got, tt.want)
			}
			if got := h.value("vm1", pathLockState); got != "0" {
				t.Errorf("LockParams/State = %q, want 0", got)
			}
			if got := h.value("vm1", pathState); got != strconv.Itoa(int(tt.want)) {
				t.Errorf("State = %q, want %d", got, tt.want)
			}
		})
	}
}

func TestLAWMOAndVirMOAgree(t *testing.T) {
	type step struct {
		exec       string // path below VirMO/vm1
		alertType  string
		lockState  string
		lawmoState string
		vmState    hypervisor.RunState
		access     bool
	}
	lawmo := "DM/LAWMO/Operations/"
	steps := []step{
		{lawmo + OpPartiallyLock, AlertLAWMOComplete, "1", "20", hypervisor.StateRunning, false},
		{lawmo + OpFullyLock, AlertLAWMOComplete, "1", "10", hypervisor.StatePaused, false},
		{"Operations/" + OpUnlock, AlertOperationComplete, "0", "30", hypervisor.StateRunning, true},
		{"Operations/" + OpLock, AlertOperationComplete, "1", "10", hypervisor.StatePaused, true},
		{lawmo + OpPartiallyLock, AlertLAWMOComplete, "1", "20", hypervisor.StateRunning, false},
		{lawmo + OpUnLock, AlertLAWMOComplete, "0", "30", hypervisor.StateRunning, true},
	}
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})

	for i, s := range steps {
		before := len(h.alerts())
		codes := h.run(provServer, execCmd("./VirMO/vm1/"+s.exec, "c"+strconv.Itoa(i)))
		if !slices.Equal(codes, []int{202}) {
			t.Fatalf("step %d: Exec %s = %v, want [202]", i, s.exec, codes)
		}
		if got := h.value("vm1", pathLockState); got != s.lockState {
			t.Errorf("step %d (%s): LockParams/State = %q, want %q", i, s.exec, got, s.lockState)
		}
		if got := h.value("vm1", pathLAWMOState); got != s.lawmoState {
			t.Errorf("step %d (%s): LAWMO State = %q, want %q", i, s.exec, got, s.lawmoState)
		}
		if got := h.vmState("vm1"); got != s.vmState {
			t.Errorf("step %d (%s): VM state = %s, want %s", i, s.exec, got, s.vmState)
		}
		if got := h.drv.UserAccess("vm1"); got != s.access {
			t.Errorf("step %d (%s): user access = %v, want %v", i, s.exec, got, s.access)
		}
		alerts := h.alerts()[before:]
		if len(alerts) != 1 || alerts[0].Type != s.alertType || alerts[0].Data != "1200" {
			t.Errorf("step %d (%s): alerts = %+v, want one %s 1200", i, s.exec, alerts, s.alertType)
		}
	}
	if got := h.value("vm1", pathLockGeneration); got != "4" {
		t.Errorf("LockGeneration = %q, want 4", got)
	}
}
