package virmo

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/hypervisor/sim"
)

// hugeMemoryDriver is a sim driver that reports the VM named huge with
// more memory than hypervisor.Config.Validate accepts, as a hypervisor
// configured outside VirMO can.
type hugeMemoryDriver struct {
	*sim.Driver
	huge string
}

const hugeMemoryMiB = 99999999999

func (d hugeMemoryDriver) List(ctx context.Context) ([]hypervisor.VM, error) {
	vms, err := d.Driver.List(ctx)
	for i := range vms {
		if vms[i].Name == d.huge {
			vms[i].Config.MemoryMiB = hugeMemoryMiB
		}
	}
	return vms, err
}

// remount builds a new tree and MO from the last snapshot, on drv and
// logging into logs.
func (h *harness) remount(drv hypervisor.Driver, logs *bytes.Buffer) {
	h.t.Helper()
	snapshot := h.lastCommit().snapshot
	h.tree = dmtree.New(dmtree.Options{Persist: h.persist})
	h.mo = New(drv, Options{ProvisioningServerID: provServer,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err := h.tree.Mount(h.mo); err != nil {
		h.t.Fatalf("Mount: %v", err)
	}
	if err := h.tree.Load(snapshot); err != nil {
		h.t.Fatalf("Load: %v", err)
	}
	h.mo.Attach(h.tree)
}

// loggedAdded reports whether logs contain a "node added" line for vm.
func loggedAdded(logs, vm string) bool {
	for line := range strings.Lines(logs) {
		if strings.Contains(line, "node added") && strings.Contains(line, " vm="+vm+" ") {
			return true
		}
	}
	return false
}

func TestSyncSkipsOutOfRangeNewVM(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateStopped})
	ctx := context.Background()
	if _, err := h.drv.Create(ctx, "big", hypervisor.Config{VCPUs: 1, MemoryMiB: 64}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h.remount(hugeMemoryDriver{Driver: h.drv, huge: "big"}, &logs)
	if err := h.drv.SetState("vm1", hypervisor.StateRunning); err != nil {
		t.Fatal(err)
	}

	for range 3 {
		if err := h.mo.Sync(ctx); err != nil {
			t.Fatalf("Sync: %v", err)
		}
	}

	if h.exists("big", "") {
		t.Error("VirMO/big exists although its memory does not fit the tree")
	}
	if got := h.value("vm1", pathState); got != "20" {
		t.Errorf("vm1 State = %q, want 20: other VMs must still sync", got)
	}
	out := logs.String()
	if loggedAdded(out, "big") {
		t.Errorf("log claims VirMO/big was added:\n%s", out)
	}
	if n := strings.Count(out, "out of range"); n != 1 {
		t.Errorf("out-of-range warnings = %d over 3 syncs, want 1; logs:\n%s", n, out)
	}
	if !strings.Contains(out, "99999999999") {
		t.Errorf("warning does not name the value 99999999999; logs:\n%s", out)
	}
}

func TestSyncKeepsOutOfRangeExistingVM(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateStopped})
	ctx := context.Background()
	var logs bytes.Buffer
	h.remount(hugeMemoryDriver{Driver: h.drv, huge: "vm1"}, &logs)
	if err := h.drv.SetState("vm1", hypervisor.StateRunning); err != nil {
		t.Fatal(err)
	}

	if err := h.mo.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}

	if got := h.value("vm1", pathMemoryMiB); got != "1024" {
		t.Errorf("MemoryMiB = %q, want the last valid value 1024", got)
	}
	if got := h.value("vm1", pathState); got != "20" {
		t.Errorf("State = %q, want 20: the run state must still follow", got)
	}
}

func TestSyncLogsAddedOnlyAfterCommit(t *testing.T) {
	h := newHarness(t, map[string]hypervisor.RunState{"vm1": hypervisor.StateStopped})
	ctx := context.Background()
	if _, err := h.drv.Create(ctx, "vm2", hypervisor.Config{VCPUs: 1, MemoryMiB: 64}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h.remount(h.drv, &logs)

	h.mu.Lock()
	h.failing = true
	h.mu.Unlock()
	if err := h.mo.Sync(ctx); err == nil {
		t.Fatal("Sync with a failing persist succeeded, want an error")
	}
	if loggedAdded(logs.String(), "vm2") {
		t.Errorf("log claims a node was added by a failed commit:\n%s", logs.String())
	}

	h.mu.Lock()
	h.failing = false
	h.mu.Unlock()
	if err := h.mo.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if !loggedAdded(logs.String(), "vm2") {
		t.Errorf("log lacks the node added by the committed sync:\n%s", logs.String())
	}
}
