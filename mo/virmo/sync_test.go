package virmo

import (
	"context"
	"slices"
	"testing"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/hypervisor"
)

func TestSyncCreatesVMNodes(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
	vm, err := h.drv.Get(context.Background(), "vm1")
	if err != nil {
		t.Fatal(err)
	}

	checks := []struct{ path, want string }{
		{pathVMID, vm.UUID},
		{pathState, "20"},
		{pathVCPUs, "2"},
		{pathMemoryMiB, "1024"},
		{pathAutoStart, "false"},
		{pathLockState, "0"},
		{pathUserUnlock, "false"},
		{pathLAWMOState, "30"},
		{pathLockGeneration, "0"},
		{pathUnlockAttempts, "0"},
		{pathMaxUnlockAttempts, "5"},
		{pathSingleUseUnlock, "true"},
	}
	for _, c := range checks {
		if got := h.value("vm1", c.path); got != c.want {
			t.Errorf("%s = %q, want %q", c.path, got, c.want)
		}
	}
	for _, op := range virmoOps {
		if !h.exists("vm1", pathOperations+"/"+op) {
			t.Errorf("Operations/%s is missing", op)
		}
	}
	for _, op := range lawmoOps {
		if !h.exists("vm1", pathLAWMOOperations+"/"+op) {
			t.Errorf("DM/LAWMO/Operations/%s is missing", op)
		}
	}
	if h.exists("vm1", pathUnlockAuth) {
		t.Error("UnlockAuth exists before a server added it")
	}
}

func TestSyncNodeTypes(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateStopped})
	types := map[string]string{
		Root:                   Type,
		Root + "/vm1/DM/LAWMO": LAWMOType,
	}
	for uri, want := range types {
		var got string
		err := h.tree.View(func(tx *dmtree.Tx) error {
			n, err := tx.Node(uri)
			if err == nil {
				got = n.Type
			}
			return err
		})
		if err != nil {
			t.Fatalf("read %s: %v", uri, err)
		}
		if got != want {
			t.Errorf("Type of %s = %q, want %q", uri, got, want)
		}
	}
}

func TestSyncFollowsHypervisor(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{
		"vm1": hypervisor.StateRunning,
		"vm2": hypervisor.StateStopped,
	})
	ctx := context.Background()
	if err := h.drv.Remove(ctx, "vm2"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.drv.Create(ctx, "vm3", hypervisor.Config{VCPUs: 1, MemoryMiB: 256}); err != nil {
		t.Fatal(err)
	}

	if err := h.mo.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}

	var children []string
	h.tree.View(func(tx *dmtree.Tx) error {
		n, err := tx.Node(Root)
		if err == nil {
			children = n.Children
		}
		return err
	})
	if want := []string{"vm1", "vm3"}; !slices.Equal(children, want) {
		t.Errorf("VirMO children = %v, want %v", children, want)
	}
}

func TestSyncRepausesTamperedVM(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
	h.run(provServer, execCmd("./VirMO/vm1/Operations/Lock", "c1"))
	if err := h.drv.SetState("vm1", hypervisor.StateRunning); err != nil {
		t.Fatal(err)
	}
	before := len(h.alerts())

	if err := h.mo.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}

	if got := h.vmState("vm1"); got != hypervisor.StatePaused {
		t.Errorf("VM state = %s, want paused", got)
	}
	if got := h.value("vm1", pathState); got != "30" {
		t.Errorf("State = %q, want 30", got)
	}
	alerts := h.alerts()[before:]
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	if a.Type != AlertStateChange || a.Mark != MarkCritical || a.Data != "30" {
		t.Errorf("alert = %+v, want StateChange critical 30", a)
	}
	if a.Source != "./VirMO/vm1/State" {
		t.Errorf("alert Source = %q, want ./VirMO/vm1/State", a.Source)
	}
	if got := h.value("vm1", pathResumeOnUnlock); got != "true" {
		t.Errorf("ResumeOnUnlock = %q, want true", got)
	}
}

func TestSyncReportsStateChanges(t *testing.T) {
	tests := []struct {
		name     string
		to       hypervisor.RunState
		wantMark string
		wantData string
	}{
		{"crash", hypervisor.StateFailed, MarkWarning, "50"},
		{"stopped from outside", hypervisor.StateStopped, MarkInformational, "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
			if err := h.drv.SetState("vm1", tt.to); err != nil {
				t.Fatal(err)
			}
			before := len(h.alerts())

			if err := h.mo.Sync(context.Background()); err != nil {
				t.Fatalf("Sync: %v", err)
			}

			alerts := h.alerts()[before:]
			if len(alerts) != 1 {
				t.Fatalf("%d alerts, want 1", len(alerts))
			}
			if a := alerts[0]; a.Type != AlertStateChange || a.Mark != tt.wantMark || a.Data != tt.wantData {
				t.Errorf("alert = %+v, want StateChange %s %s", a, tt.wantMark, tt.wantData)
			}
		})
	}
}

func TestSyncQuietWithoutChanges(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
	before := len(h.alerts())

	if err := h.mo.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}

	if n := len(h.alerts()) - before; n != 0 {
		t.Errorf("Sync without changes queued %d alerts", n)
	}
}

func TestSyncReblocksPartialLock(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateRunning})
	h.run(provServer, execCmd("./VirMO/vm1/DM/LAWMO/Operations/PartiallyLock", "c1"))
	if err := h.drv.SetUserAccess(context.Background(), "vm1", true); err != nil {
		t.Fatal(err)
	}

	if err := h.mo.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}

	if h.drv.UserAccess("vm1") {
		t.Error("user access of a partially locked VM is allowed after Sync")
	}
	if got := h.vmState("vm1"); got != hypervisor.StateRunning {
		t.Errorf("VM state = %s, want running", got)
	}
}

func TestServerAddsAndDeletesVM(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()

	codes := h.run(provServer, addNodeCmd("./VirMO/vm9"))
	if !slices.Equal(codes, []int{200}) {
		t.Fatalf("Add VirMO/vm9 = %v, want [200]", codes)
	}
	vm, err := h.drv.Get(ctx, "vm9")
	if err != nil {
		t.Fatalf("VM not created: %v", err)
	}
	if got := h.value("vm9", pathVMID); got != vm.UUID {
		t.Errorf("VMID = %q, want %q", got, vm.UUID)
	}
	if got := h.value("vm9", pathLAWMOState); got != "30" {
		t.Errorf("LAWMO State = %q, want 30", got)
	}

	codes = h.run(provServer, replaceCmd("./VirMO/vm9/Config/VCPUs", "int", "4"))
	if !slices.Equal(codes, []int{200}) {
		t.Fatalf("Replace VCPUs = %v, want [200]", codes)
	}
	if vm, _ := h.drv.Get(ctx, "vm9"); vm.Config.VCPUs != 4 {
		t.Errorf("hypervisor VCPUs = %d, want 4", vm.Config.VCPUs)
	}

	codes = h.run(provServer, deleteCmd("./VirMO/vm9"))
	if !slices.Equal(codes, []int{200}) {
		t.Fatalf("Delete VirMO/vm9 = %v, want [200]", codes)
	}
	if _, err := h.drv.Get(ctx, "vm9"); err == nil {
		t.Error("VM still exists on the hypervisor")
	}
}

func TestExecRemoveAndFactoryReset(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{
		"vm1": hypervisor.StateRunning,
		"vm2": hypervisor.StateRunning,
	})
	ctx := context.Background()
	oldID := h.value("vm2", pathVMID)

	if codes := h.run(provServer, execCmd("./VirMO/vm1/Operations/Remove", "c1")); codes[0] != 202 {
		t.Fatalf("Exec Remove = %v, want [202]", codes)
	}
	if h.exists("vm1", "") {
		t.Error("VirMO/vm1 still exists")
	}
	if _, err := h.drv.Get(ctx, "vm1"); err == nil {
		t.Error("vm1 still exists on the hypervisor")
	}

	h.run(provServer, execCmd("./VirMO/vm2/DM/LAWMO/Operations/FullyLock", "c2"))
	before := len(h.alerts())
	if codes := h.run(provServer, execCmd("./VirMO/vm2/DM/LAWMO/Operations/FactoryReset", "c3")); codes[0] != 202 {
		t.Fatalf("Exec FactoryReset = %v, want [202]", codes)
	}
	if got := h.value("vm2", pathVMID); got == oldID {
		t.Error("VMID unchanged after a factory reset")
	}
	if got := h.value("vm2", pathLockState); got != "1" {
		t.Errorf("LockParams/State after reset = %q, want 1", got)
	}
	if got := h.vmState("vm2"); got != hypervisor.StateStopped {
		t.Errorf("VM state after reset = %s, want stopped", got)
	}
	alerts := h.alerts()[before:]
	if len(alerts) != 1 || alerts[0].Type != AlertLAWMOComplete || alerts[0].Data != "1200" {
		t.Errorf("alerts = %+v, want one LAWMO OperationComplete 1200", alerts)
	}
}

func TestExecFailureReported(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateStopped})

	// Pause of a stopped VM is invalid on every driver.
	withCorrelator := h.run(provServer, execCmd("./VirMO/vm1/Operations/Pause", "c1"))
	without := h.run(provServer, execCmd("./VirMO/vm1/Operations/Pause", ""))

	if !slices.Equal(withCorrelator, []int{202}) {
		t.Errorf("Exec Pause with Correlator = %v, want [202]", withCorrelator)
	}
	if !slices.Equal(without, []int{403}) {
		t.Errorf("Exec Pause without Correlator = %v, want [403]", without)
	}
	alerts := h.alerts()
	last := alerts[len(alerts)-1]
	if last.Data != "1410" || last.Mark != MarkWarning || last.Correlator != "c1" {
		t.Errorf("alert = %+v, want 1410 warning c1", last)
	}
}
