package libvirt

import (
	"cmp"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virmo/virmo/hypervisor"
)

// requireEnv names the environment variable that, set to 1, turns a
// missing libvirt socket from a skip into a failure.
const requireEnv = "VIRMO_REQUIRE_LIBVIRT"

// socketEnv names the environment variable that overrides
// DefaultSocketPath for the integration tests.
const socketEnv = "VIRMO_LIBVIRT_SOCKET"

// testPrefix keeps the test's domains apart from the default prefix and
// from any other domain on the host.
const testPrefix = "virmotest-"

// openIntegration connects to the local libvirtd and removes the domains
// with testPrefix before and after the test.
func openIntegration(t *testing.T) *Driver {
	t.Helper()
	socketPath := cmp.Or(os.Getenv(socketEnv), DefaultSocketPath)
	if _, err := os.Stat(socketPath); err != nil {
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("libvirt socket %s: %v (%s=1; run scripts/start-libvirt.sh)",
				socketPath, err, requireEnv)
		}
		t.Skipf("libvirt socket %s not found; set %s=1 to fail instead", socketPath, requireEnv)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := Open(ctx, socketPath, Options{Prefix: testPrefix})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	removeTestDomains(t, d)
	t.Cleanup(func() {
		removeTestDomains(t, d)
		d.Close()
	})
	return d
}

func removeTestDomains(t *testing.T, d *Driver) {
	t.Helper()
	ctx := context.Background()
	vms, err := d.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, vm := range vms {
		if err := d.Remove(ctx, vm.Name); err != nil {
			t.Errorf("remove leftover test VM %s: %v", vm.Name, err)
		}
	}
}

// virshState returns the state that `virsh domstate` prints for a domain,
// or "" when virsh is not installed.
func virshState(t *testing.T, domain string) string {
	t.Helper()
	path, err := exec.LookPath("virsh")
	if err != nil {
		return ""
	}
	out, err := exec.Command(path, "-c", DefaultURI, "domstate", domain).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh domstate %s: %v: %s", domain, err, out)
	}
	return strings.TrimSpace(string(out))
}

// checkTCG checks that the QEMU process of a running domain uses TCG, by
// reading its command line through the pid file that libvirtd keeps for
// qemu:///system. It does nothing when the pid file is not readable.
func checkTCG(t *testing.T, domain string) {
	t.Helper()
	pid, err := os.ReadFile("/run/libvirt/qemu/" + domain + ".pid")
	if err != nil {
		t.Logf("QEMU accelerator not checked: %v", err)
		return
	}
	cmdline, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/cmdline")
	if err != nil {
		t.Fatalf("read QEMU command line: %v", err)
	}
	args := strings.Split(string(cmdline), "\x00")
	i := slices.Index(args, "-accel")
	if i < 0 || i+1 >= len(args) || args[i+1] != "tcg" {
		t.Errorf("QEMU arguments %q lack -accel tcg", args)
	}
}

func TestLibvirtLifecycle(t *testing.T) {
	d := openIntegration(t)
	ctx := context.Background()
	cfg := hypervisor.Config{VCPUs: 1, MemoryMiB: 32}
	domain := testPrefix + "life"

	vm, err := d.Create(ctx, "life", cfg)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if vm.State != hypervisor.StateStopped {
		t.Errorf("state after Create = %s, want stopped", vm.State)
	}
	if vm.Config != cfg {
		t.Errorf("Config after Create = %+v, want %+v", vm.Config, cfg)
	}
	uuidForm := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	if !uuidForm.MatchString(vm.UUID) {
		t.Errorf("UUID = %q, want the canonical UUID form", vm.UUID)
	}

	steps := []struct {
		name      string
		do        func() error
		wantErr   error
		want      hypervisor.RunState
		wantVirsh string
	}{
		{"resume stopped", func() error { return d.Resume(ctx, "life") },
			hypervisor.ErrInvalidState, hypervisor.StateStopped, "shut off"},
		{"start", func() error { return d.Start(ctx, "life") },
			nil, hypervisor.StateRunning, "running"},
		{"start running", func() error { return d.Start(ctx, "life") },
			nil, hypervisor.StateRunning, "running"},
		{"pause", func() error { return d.Pause(ctx, "life") },
			nil, hypervisor.StatePaused, "paused"},
		{"pause paused", func() error { return d.Pause(ctx, "life") },
			nil, hypervisor.StatePaused, "paused"},
		{"start paused", func() error { return d.Start(ctx, "life") },
			hypervisor.ErrInvalidState, hypervisor.StatePaused, "paused"},
		{"resume", func() error { return d.Resume(ctx, "life") },
			nil, hypervisor.StateRunning, "running"},
		{"stop", func() error { return d.Stop(ctx, "life") },
			nil, hypervisor.StateStopped, "shut off"},
		{"stop stopped", func() error { return d.Stop(ctx, "life") },
			nil, hypervisor.StateStopped, "shut off"},
		{"pause stopped", func() error { return d.Pause(ctx, "life") },
			hypervisor.ErrInvalidState, hypervisor.StateStopped, "shut off"},
		{"start again", func() error { return d.Start(ctx, "life") },
			nil, hypervisor.StateRunning, "running"},
		{"pause again", func() error { return d.Pause(ctx, "life") },
			nil, hypervisor.StatePaused, "paused"},
	}
	for _, step := range steps {
		err := step.do()
		if step.wantErr == nil && err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if step.wantErr != nil && !errors.Is(err, step.wantErr) {
			t.Fatalf("%s: error = %v, want %v", step.name, err, step.wantErr)
		}

		got, err := d.Get(ctx, "life")
		if err != nil {
			t.Fatalf("%s: Get: %v", step.name, err)
		}
		if got.State != step.want {
			t.Errorf("%s: state = %s, want %s", step.name, got.State, step.want)
		}
		if s := virshState(t, domain); s != "" && s != step.wantVirsh {
			t.Errorf("%s: virsh domstate = %q, want %q", step.name, s, step.wantVirsh)
		}
		if step.name == "start" {
			checkTCG(t, domain)
		}
	}

	// Remove works on a paused domain and leaves nothing behind.
	if err := d.Remove(ctx, "life"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := d.Get(ctx, "life"); !errors.Is(err, hypervisor.ErrNotFound) {
		t.Errorf("Get after Remove error = %v, want ErrNotFound", err)
	}
	if path, err := exec.LookPath("virsh"); err == nil {
		out, err := exec.Command(path, "-c", DefaultURI, "domstate", domain).CombinedOutput()
		if err == nil {
			t.Errorf("virsh domstate after Remove succeeded: %s", out)
		}
	}
}

func TestLibvirtConfigAndUserAccess(t *testing.T) {
	d := openIntegration(t)
	ctx := context.Background()
	if _, err := d.Create(ctx, "cfg", hypervisor.Config{VCPUs: 1, MemoryMiB: 32}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := d.Start(ctx, "cfg"); err != nil {
		t.Fatalf("Start: %v", err)
	}

	allowed, err := d.UserAccess(ctx, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	if !allowed {
		t.Error("UserAccess of a new VM = false, want true")
	}
	if err := d.SetUserAccess(ctx, "cfg", false); err != nil {
		t.Fatalf("SetUserAccess: %v", err)
	}

	// A running domain takes the new configuration at its next start.
	want := hypervisor.Config{VCPUs: 2, MemoryMiB: 48, AutoStart: true}
	if err := d.SetConfig(ctx, "cfg", want); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	vm, err := d.Get(ctx, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	if vm.Config != want {
		t.Errorf("Config = %+v, want %+v", vm.Config, want)
	}
	if vm.State != hypervisor.StateRunning {
		t.Errorf("state after SetConfig = %s, want running", vm.State)
	}

	// User access survives the redefinition and a restart.
	if err := d.Stop(ctx, "cfg"); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, "cfg"); err != nil {
		t.Fatalf("Start with the new configuration: %v", err)
	}
	allowed, err = d.UserAccess(ctx, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	if allowed {
		t.Error("UserAccess after SetUserAccess(false), SetConfig and restart = true, want false")
	}
}

func TestLibvirtRejectsBadInput(t *testing.T) {
	d := openIntegration(t)
	ctx := context.Background()
	cfg := hypervisor.Config{VCPUs: 1, MemoryMiB: 32}
	if _, err := d.Create(ctx, "dup", cfg); err != nil {
		t.Fatalf("Create: %v", err)
	}

	tests := []struct {
		name    string
		cfg     hypervisor.Config
		wantErr error
	}{
		{"dup", cfg, hypervisor.ErrExists},
		{"a/b", cfg, hypervisor.ErrInvalidName},
		{"", cfg, hypervisor.ErrInvalidName},
		{"img", hypervisor.Config{VCPUs: 1, MemoryMiB: 32, Image: "disk.img"},
			hypervisor.ErrInvalidConfig},
		{"zero", hypervisor.Config{}, hypervisor.ErrInvalidConfig},
	}
	for _, tt := range tests {
		if _, err := d.Create(ctx, tt.name, tt.cfg); !errors.Is(err, tt.wantErr) {
			t.Errorf("Create(%q, %+v) error = %v, want %v", tt.name, tt.cfg, err, tt.wantErr)
		}
	}
	for _, name := range []string{"missing", "a/b"} {
		if err := d.Start(ctx, name); !errors.Is(err, hypervisor.ErrNotFound) {
			t.Errorf("Start(%q) error = %v, want ErrNotFound", name, err)
		}
	}

	vms, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vms) != 1 {
		t.Errorf("List returned %d VMs after rejected creates, want 1", len(vms))
	}
}

// TestLibvirtIgnoresOtherDomains defines a domain without the test prefix
// through virsh and checks that the driver neither lists nor finds it.
func TestLibvirtIgnoresOtherDomains(t *testing.T) {
	d := openIntegration(t)
	virsh, err := exec.LookPath("virsh")
	if err != nil {
		t.Skip("virsh not installed")
	}
	const foreign = "virmotestforeign"
	def, err := buildDomainXML(domainSpec{Name: foreign,
		Config: hypervisor.Config{VCPUs: 1, MemoryMiB: 32}})
	if err != nil {
		t.Fatal(err)
	}
	file := t.TempDir() + "/foreign.xml"
	if err := os.WriteFile(file, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	exec.Command(virsh, "-c", DefaultURI, "undefine", foreign).Run()
	if out, err := exec.Command(virsh, "-c", DefaultURI, "define", file).CombinedOutput(); err != nil {
		t.Fatalf("virsh define: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command(virsh, "-c", DefaultURI, "undefine", foreign).Run() })

	ctx := context.Background()
	vms, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vms) != 0 {
		t.Errorf("List = %+v, want no VMs", vms)
	}
	if _, err := d.Get(ctx, "foreign"); !errors.Is(err, hypervisor.ErrNotFound) {
		t.Errorf("Get(foreign) error = %v, want ErrNotFound", err)
	}
}
