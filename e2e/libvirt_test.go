package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

const libvirtSocket = "/var/run/libvirt/libvirt-sock"

// requireLibvirt skips the test when libvirtd is not running, unless
// VIRMO_REQUIRE_LIBVIRT=1 (as in CI), where a missing libvirtd fails it.
func requireLibvirt(t *testing.T) {
	t.Helper()
	_, sockErr := os.Stat(libvirtSocket)
	_, virshErr := exec.LookPath("virsh")
	if sockErr == nil && virshErr == nil {
		return
	}
	msg := "libvirtd socket " + libvirtSocket + " or virsh missing: run scripts/install-libvirt.sh and scripts/start-libvirt.sh"
	if os.Getenv("VIRMO_REQUIRE_LIBVIRT") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func virsh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-c", "qemu:///system"}, args...)...).CombinedOutput()
	if err != nil {
		t.Logf("virsh %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func removeDomain(t *testing.T, name string) {
	t.Helper()
	exec.Command("virsh", "-c", "qemu:///system", "destroy", name).Run()
	exec.Command("virsh", "-c", "qemu:///system", "undefine", name).Run()
}

func TestLibvirtLockPausesAndUserUnlockResumes(t *testing.T) {
	requireLibvirt(t)
	const domain = "virmo-e2elibvirt"
	removeDomain(t, domain)
	t.Cleanup(func() { removeDomain(t, domain) })

	f, _ := newFleet(t, "--driver", "libvirt", "--ensure-vm", "e2elibvirt", "--vm-memory", "32")
	f.startAgent(t)
	vm := waitVM(t, f.env, "e2elibvirt", "reported running", func(r vmRow) bool { return r.State == "running" })
	if got := virsh(t, "domstate", domain); got != "running" {
		t.Fatalf("virsh domstate before the lock = %q, want running", got)
	}

	var lock lockResponse
	mustRunJSON(t, f.env, &lock, "vm", "lock", vm.Device+"/e2elibvirt", "--user-unlock")
	waitVM(t, f.env, "e2elibvirt", "locked", func(r vmRow) bool { return r.LockState == "locked" })
	if got := virsh(t, "domstate", domain); got != "paused" {
		t.Fatalf("virsh domstate while locked = %q, want paused", got)
	}

	if _, code := run(t, "not-the-secret\n", "unlock", "e2elibvirt", "--socket", f.socket()); code != 2 {
		t.Fatalf("unlock with a wrong secret exited %d, want 2", code)
	}
	if got := virsh(t, "domstate", domain); got != "paused" {
		t.Fatalf("virsh domstate after a wrong secret = %q, want paused", got)
	}
	if _, code := run(t, lock.Secret+"\n", "unlock", "e2elibvirt", "--socket", f.socket()); code != 0 {
		t.Fatalf("unlock with the right secret exited %d, want 0", code)
	}
	if got := virsh(t, "domstate", domain); got != "running" {
		t.Fatalf("virsh domstate after the user unlock = %q, want running", got)
	}
	waitVM(t, f.env, "e2elibvirt", "unlocked", func(r vmRow) bool { return r.LockState == "unlocked" })
}
