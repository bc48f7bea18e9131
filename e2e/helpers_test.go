// Package e2e runs the virmo binary as a user would: server, agent, dev mode
// and the operator CLI as separate processes talking over loopback.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// virmoBin is the path of the binary built once by TestMain.
var virmoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "virmo-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	virmoBin = filepath.Join(dir, "virmo")
	build := exec.Command("go", "build", "-o", virmoBin, "../cmd/virmo")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build virmo:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// process is a virmo command running in the background.
type process struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	// done is closed when the process has ended.
	done chan struct{}
}

// start runs virmo with args in the background; the test's cleanup stops it.
func start(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(virmoBin, args...)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start virmo %v: %v", args, err)
	}
	p := &process{cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("output of virmo %s:\n%s", strings.Join(args, " "), logs.String())
		}
	})
	return p
}

// stop sends sig and waits for the process to end (SIGKILL after 15 s).
func (p *process) stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// run runs virmo to completion and returns its standard output and exit code.
func run(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, virmoBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run virmo %v: %v", args, err)
		}
		code = exitErr.ExitCode()
	}
	if code != 0 {
		t.Logf("virmo %s exited %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String(), code
}

// mustRunJSON runs an operator command with -o json and decodes its output.
func mustRunJSON(t *testing.T, env operatorEnv, v any, args ...string) {
	t.Helper()
	args = append(args, "-o", "json", "--server", env.server, "--token", env.token)
	if env.caFile != "" {
		args = append(args, "--ca", env.caFile)
	}
	out, code := run(t, "", args...)
	if code != 0 {
		t.Fatalf("virmo %s: exit %d", strings.Join(args, " "), code)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("virmo %s: decode %q: %v", strings.Join(args, " "), out, err)
	}
}

// operatorEnv is the server URL and admin token for operator commands.
type operatorEnv struct {
	server string
	token  string
	// caFile is the CA of an HTTPS server, empty for plain HTTP.
	caFile string
}

// waitFile waits until path exists and is not empty and returns its trimmed
// content.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	var content string
	waitFor(t, "file "+path, func() bool {
		b, err := os.ReadFile(path)
		content = strings.TrimSpace(string(b))
		return err == nil && content != ""
	})
	return content
}

// waitFor polls cond every 100 ms until it holds, failing the test after
// two minutes. The bound only stops a hung test; no result depends on it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// vmRow is one element of `virmo vm list -o json`.
type vmRow struct {
	Device     string `json:"device"`
	VM         string `json:"vm"`
	State      string `json:"state"`
	LockState  string `json:"lock_state"`
	LockError  string `json:"lock_error"`
	UserUnlock bool   `json:"user_unlock"`
}

// findVM returns the row of vm from `virmo vm list`, or false.
func findVM(t *testing.T, env operatorEnv, vm string) (vmRow, bool) {
	t.Helper()
	var rows []vmRow
	mustRunJSON(t, env, &rows, "vm", "list")
	for _, r := range rows {
		if r.VM == vm {
			return r, true
		}
	}
	return vmRow{}, false
}

// waitVM waits until cond holds for vm's row and returns that row.
func waitVM(t *testing.T, env operatorEnv, vm, what string, cond func(vmRow) bool) vmRow {
	t.Helper()
	var row vmRow
	waitFor(t, vm+" "+what, func() bool {
		r, ok := findVM(t, env, vm)
		row = r
		return ok && cond(r)
	})
	return row
}

// lockedBuffer collects a process's output from two pipes at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func removeIfExists(path string) error {
	err := os.Remove(path)
	if os.IsNotExist(err) {
		return nil
	}
	return err
}
