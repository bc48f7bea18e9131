package server

import (
	"strings"
	"testing"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/server/dmsession"
)

func TestConfirmedLockIncrementsGeneration(t *testing.T) {
	e := newTestEnv(t)
	device := e.enroll("IMEI:gen")
	o := observedVM("vm1")
	o.LockGeneration = 4
	e.observe(device, o)

	lock, err := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{})
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if got := e.vm(device, "vm1").LockGeneration; got != 4 {
		t.Errorf("lock_generation before the confirmation = %d, want 4", got)
	}
	e.completeIntent(device, lock.Intent.ID)
	if got := e.vm(device, "vm1").LockGeneration; got != 5 {
		t.Errorf("lock_generation after the confirmation = %d, want 5", got)
	}

	// The next inventory read stores the device's value.
	o.LockState = 1
	o.LockGeneration = 7
	e.observe(device, o)
	if got := e.vm(device, "vm1").LockGeneration; got != 7 {
		t.Errorf("lock_generation after the inventory read = %d, want 7", got)
	}
}

func TestUserUnlockAuditsCurrentGeneration(t *testing.T) {
	e := newTestEnv(t)
	device := e.deviceWithVM("vm1")
	lock, err := e.srv.Lock(e.ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	e.completeIntent(device, lock.Intent.ID)

	e.alert(device, dmsession.Alert{Type: AlertUserUnlock, Source: "./VirMO/vm1/LockParams",
		Target: "./VirMO/vm1", Data: "1200", Mark: "informational"})

	entries, err := e.store.ListAudit(e.ctx, 0, 0)
	if err != nil {
		t.Fatalf("list audit: %v", err)
	}
	var detail string
	for _, entry := range entries {
		if entry.Action == "vm.user_unlock" {
			detail = entry.Detail
		}
	}
	if !strings.Contains(detail, "lock_generation=1") {
		t.Errorf("vm.user_unlock detail = %q, want lock_generation=1", detail)
	}
}
