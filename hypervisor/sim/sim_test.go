package sim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/virmo/virmo/hypervisor"
)

var testConfig = hypervisor.Config{VCPUs: 1, MemoryMiB: 64}

func openTest(t *testing.T, dir string) *Driver {
	t.Helper()
	d, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestTransitions(t *testing.T) {
	ctx := context.Background()
	states := []hypervisor.RunState{
		hypervisor.StateStopped, hypervisor.StateRunning,
		hypervisor.StatePaused, hypervisor.StateFailed,
	}
	ops := []struct {
		op hypervisor.Op
		do func(d *Driver, name string) error
	}{
		{hypervisor.OpStart, func(d *Driver, n string) error { return d.Start(ctx, n) }},
		{hypervisor.OpStop, func(d *Driver, n string) error { return d.Stop(ctx, n) }},
		{hypervisor.OpPause, func(d *Driver, n string) error { return d.Pause(ctx, n) }},
		{hypervisor.OpResume, func(d *Driver, n string) error { return d.Resume(ctx, n) }},
	}
	// want lists the state after each operation, or 0 for ErrInvalidState.
	want := map[hypervisor.Op]map[hypervisor.RunState]hypervisor.RunState{
		hypervisor.OpStart: {
			hypervisor.StateStopped: hypervisor.StateRunning,
			hypervisor.StateRunning: hypervisor.StateRunning,
			hypervisor.StatePaused:  0,
			hypervisor.StateFailed:  hypervisor.StateRunning,
		},
		hypervisor.OpStop: {
			hypervisor.StateStopped: hypervisor.StateStopped,
			hypervisor.StateRunning: hypervisor.StateStopped,
			hypervisor.StatePaused:  hypervisor.StateStopped,
			hypervisor.StateFailed:  hypervisor.StateStopped,
		},
		hypervisor.OpPause: {
			hypervisor.StateStopped: 0,
			hypervisor.StateRunning: hypervisor.StatePaused,
			hypervisor.StatePaused:  hypervisor.StatePaused,
			hypervisor.StateFailed:  0,
		},
		hypervisor.OpResume: {
			hypervisor.StateStopped: 0,
			hypervisor.StateRunning: hypervisor.StateRunning,
			hypervisor.StatePaused:  hypervisor.StateRunning,
			hypervisor.StateFailed:  0,
		},
	}

	d := openTest(t, t.TempDir())
	if _, err := d.Create(ctx, "vm1", testConfig); err != nil {
		t.Fatal(err)
	}
	for _, o := range ops {
		for _, from := range states {
			t.Run(o.op.String()+"/"+from.String(), func(t *testing.T) {
				if err := d.SetState("vm1", from); err != nil {
					t.Fatal(err)
				}

				err := o.do(d, "vm1")
				wantState := want[o.op][from]
				if wantState == 0 && !errors.Is(err, hypervisor.ErrInvalidState) {
					t.Errorf("error = %v, want ErrInvalidState", err)
				}
				if wantState != 0 && err != nil {
					t.Errorf("error = %v, want nil", err)
				}
				if wantState == 0 {
					wantState = from
				}

				vm, err := d.Get(ctx, "vm1")
				if err != nil {
					t.Fatal(err)
				}
				if vm.State != wantState {
					t.Errorf("state = %s, want %s", vm.State, wantState)
				}
			})
		}
	}
}

func TestOperationsOnMissingVM(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, t.TempDir())
	ops := map[string]func() error{
		"Start":         func() error { return d.Start(ctx, "nope") },
		"Stop":          func() error { return d.Stop(ctx, "nope") },
		"Pause":         func() error { return d.Pause(ctx, "nope") },
		"Resume":        func() error { return d.Resume(ctx, "nope") },
		"Remove":        func() error { return d.Remove(ctx, "nope") },
		"SetConfig":     func() error { return d.SetConfig(ctx, "nope", testConfig) },
		"SetUserAccess": func() error { return d.SetUserAccess(ctx, "nope", false) },
		"SetState":      func() error { return d.SetState("nope", hypervisor.StateRunning) },
		"Get": func() error {
			_, err := d.Get(ctx, "nope")
			return err
		},
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, hypervisor.ErrNotFound) {
			t.Errorf("%s error = %v, want ErrNotFound", name, err)
		}
	}
	if d.UserAccess("nope") {
		t.Error("UserAccess of a missing VM = true, want false")
	}
}

func TestCreateNewVM(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, t.TempDir())

	vm, err := d.Create(ctx, "vm1", testConfig)
	if err != nil {
		t.Fatal(err)
	}
	if vm.Name != "vm1" {
		t.Errorf("Name = %q, want vm1", vm.Name)
	}
	if vm.State != hypervisor.StateStopped {
		t.Errorf("State = %s, want stopped", vm.State)
	}
	if vm.Config != testConfig {
		t.Errorf("Config = %+v, want %+v", vm.Config, testConfig)
	}
	uuidV4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuidV4.MatchString(vm.UUID) {
		t.Errorf("UUID = %q, want a UUID v4", vm.UUID)
	}
	if !d.UserAccess("vm1") {
		t.Error("UserAccess of a new VM = false, want true")
	}

	other, err := d.Create(ctx, "vm2", testConfig)
	if err != nil {
		t.Fatal(err)
	}
	if other.UUID == vm.UUID {
		t.Errorf("two VMs share UUID %s", vm.UUID)
	}
}

func TestCreateRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, t.TempDir())
	if _, err := d.Create(ctx, "vm1", testConfig); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		cfg     hypervisor.Config
		wantErr error
	}{
		{"vm1", testConfig, hypervisor.ErrExists},
		{"", testConfig, hypervisor.ErrInvalidName},
		{"a/b", testConfig, hypervisor.ErrInvalidName},
		{"vm2", hypervisor.Config{VCPUs: 0, MemoryMiB: 64}, hypervisor.ErrInvalidConfig},
		{"vm2", hypervisor.Config{VCPUs: 1, MemoryMiB: 0}, hypervisor.ErrInvalidConfig},
	}
	for _, tt := range tests {
		if _, err := d.Create(ctx, tt.name, tt.cfg); !errors.Is(err, tt.wantErr) {
			t.Errorf("Create(%q, %+v) error = %v, want %v", tt.name, tt.cfg, err, tt.wantErr)
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

func TestListSortedByName(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, t.TempDir())
	for _, name := range []string{"c", "a", "b"} {
		if _, err := d.Create(ctx, name, testConfig); err != nil {
			t.Fatal(err)
		}
	}

	vms, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, vm := range vms {
		names = append(names, vm.Name)
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("List names = %v, want [a b c]", names)
	}
}

func TestRemoveRunningVM(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, t.TempDir())
	if _, err := d.Create(ctx, "vm1", testConfig); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}

	if err := d.Remove(ctx, "vm1"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := d.Get(ctx, "vm1"); !errors.Is(err, hypervisor.ErrNotFound) {
		t.Errorf("Get after Remove error = %v, want ErrNotFound", err)
	}
}

func TestSetConfigAndUserAccess(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, t.TempDir())
	if _, err := d.Create(ctx, "vm1", testConfig); err != nil {
		t.Fatal(err)
	}

	cfg := hypervisor.Config{VCPUs: 2, MemoryMiB: 128, Image: "disk.img", AutoStart: true}
	if err := d.SetConfig(ctx, "vm1", cfg); err != nil {
		t.Fatal(err)
	}
	if err := d.SetConfig(ctx, "vm1", hypervisor.Config{}); !errors.Is(err, hypervisor.ErrInvalidConfig) {
		t.Errorf("SetConfig of a zero Config error = %v, want ErrInvalidConfig", err)
	}
	if err := d.SetUserAccess(ctx, "vm1", false); err != nil {
		t.Fatal(err)
	}

	vm, err := d.Get(ctx, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if vm.Config != cfg {
		t.Errorf("Config = %+v, want %+v", vm.Config, cfg)
	}
	if d.UserAccess("vm1") {
		t.Error("UserAccess after SetUserAccess(false) = true, want false")
	}
}

func TestSetStateRejectsUndefinedState(t *testing.T) {
	d := openTest(t, t.TempDir())
	if _, err := d.Create(context.Background(), "vm1", testConfig); err != nil {
		t.Fatal(err)
	}
	if err := d.SetState("vm1", hypervisor.RunState(42)); err == nil {
		t.Error("SetState(42) error = nil, want an error")
	}
}

func TestPersistenceAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	created, err := d.Create(ctx, "vm1", testConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Pause(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetUserAccess(ctx, "vm1", false); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	reopened := openTest(t, dir)
	vm, err := reopened.Get(ctx, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if vm.UUID != created.UUID {
		t.Errorf("UUID = %s, want %s", vm.UUID, created.UUID)
	}
	if vm.State != hypervisor.StatePaused {
		t.Errorf("State = %s, want paused", vm.State)
	}
	if vm.Config != testConfig {
		t.Errorf("Config = %+v, want %+v", vm.Config, testConfig)
	}
	if reopened.UserAccess("vm1") {
		t.Error("UserAccess = true, want false")
	}
}

func TestTwoDriversShareDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	agent := openTest(t, dir)
	tamper := openTest(t, dir)
	if _, err := agent.Create(ctx, "vm1", testConfig); err != nil {
		t.Fatal(err)
	}

	if err := tamper.SetState("vm1", hypervisor.StateRunning); err != nil {
		t.Fatal(err)
	}
	vm, err := agent.Get(ctx, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if vm.State != hypervisor.StateRunning {
		t.Errorf("State seen by the other driver = %s, want running", vm.State)
	}
}

func TestClosedDriver(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close error = %v, want nil", err)
	}
	if _, err := d.List(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("List after Close error = %v, want ErrClosed", err)
	}
}

func TestOpenRejectsCorruptFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte(`{"version":1,"vms":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil {
		t.Error("Open of a truncated state file error = nil, want an error")
	}
}

func TestOpenRemovesTempFiles(t *testing.T) {
	dir := t.TempDir()
	stray := filepath.Join(dir, tempPrefix+"123"+tempSuffix)
	if err := os.WriteFile(stray, []byte(`{"version":1,`), 0o600); err != nil {
		t.Fatal(err)
	}
	openTest(t, dir)
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stray temporary file still present after Open: %v", err)
	}
}
