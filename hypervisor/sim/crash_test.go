package sim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/virmo/virmo/hypervisor"
)

// crashChildEnv names the environment variable that turns the test binary
// into a writer child for TestCrashSafety. Its value is the state
// directory.
const crashChildEnv = "VIRMO_SIM_CRASH_CHILD_DIR"

// TestMain runs the writer child when crashChildEnv is set.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		if err := runCrashChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runCrashChild raises the memory of VM "vm" by 1 MiB per write, forever,
// and prints each value after its write has returned.
func runCrashChild(dir string) error {
	ctx := context.Background()
	d, err := Open(dir)
	if err != nil {
		return err
	}
	vm, err := d.Get(ctx, "vm")
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	for memory := vm.Config.MemoryMiB + 1; ; memory++ {
		cfg := vm.Config
		cfg.MemoryMiB = memory
		if err := d.SetConfig(ctx, "vm", cfg); err != nil {
			return err
		}
		fmt.Fprintln(out, memory)
		if err := out.Flush(); err != nil {
			return err
		}
	}
}

// TestCrashSafety kills a writer child with SIGKILL at random points in its
// write loop and checks each time that the state still opens and holds
// the last acknowledged write or the one after it.
func TestCrashSafety(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(ctx, "vm", hypervisor.Config{VCPUs: 1, MemoryMiB: 1}); err != nil {
		t.Fatal(err)
	}
	d.Close()

	rounds := 30
	if testing.Short() {
		rounds = 5
	}
	for round := range rounds {
		acked := runAndKillChild(t, dir, 1+rand.IntN(50))

		d, err := Open(dir)
		if err != nil {
			t.Fatalf("round %d: Open after SIGKILL: %v", round, err)
		}
		vm, err := d.Get(ctx, "vm")
		d.Close()
		if err != nil {
			t.Fatalf("round %d: Get after SIGKILL: %v", round, err)
		}
		if got := vm.Config.MemoryMiB; got != acked && got != acked+1 {
			t.Fatalf("round %d: MemoryMiB = %d, want %d (last acknowledged) or %d",
				round, got, acked, acked+1)
		}

		strays, err := filepath.Glob(filepath.Join(dir, tempPrefix+"*"))
		if err != nil {
			t.Fatal(err)
		}
		if len(strays) != 0 {
			t.Fatalf("round %d: temporary files left after Open: %v", round, strays)
		}
	}
}

// runAndKillChild starts a writer child, waits until it has acknowledged
// the given number of writes, kills the child with SIGKILL and returns the last value it
// acknowledged.
func runAndKillChild(t *testing.T, dir string, writes int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	lines := bufio.NewScanner(stdout)
	acked := 0
	for i := 0; i < writes && lines.Scan(); i++ {
		acked, err = strconv.Atoi(strings.TrimSpace(lines.Text()))
		if err != nil {
			t.Fatalf("child output %q: %v", lines.Text(), err)
		}
	}
	if acked == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("child exited before acknowledging a write")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}

	// The child may print more values between the last read and the
	// kill. They count as acknowledged too.
	for lines.Scan() {
		if v, err := strconv.Atoi(strings.TrimSpace(lines.Text())); err == nil {
			acked = v
		}
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("child exit: %v, want killed by SIGKILL", err)
	}
	return acked
}
