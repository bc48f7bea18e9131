package e2e

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fleet is a server and one enrolled agent run as separate processes.
type fleet struct {
	env       operatorEnv
	serverDir string
	agentDir  string
	agentArgs []string
}

// startServer starts `virmo server` on a free loopback port and returns the
// process and the operator environment.
func startServerProcess(t *testing.T, dir, listen string) (*process, operatorEnv) {
	t.Helper()
	for _, name := range []string{"server.url"} {
		_ = removeIfExists(filepath.Join(dir, name))
	}
	p := start(t, "server", "--data", dir, "--listen", listen)
	env := operatorEnv{
		server: waitFile(t, filepath.Join(dir, "server.url")),
		token:  waitFile(t, filepath.Join(dir, "admin.token")),
	}
	return p, env
}

// newFleet starts a server, enrolls an agent and returns both directories;
// the agent itself is started by the test with f.startAgent.
func newFleet(t *testing.T, agentArgs ...string) (*fleet, *process) {
	t.Helper()
	f := &fleet{serverDir: t.TempDir(), agentDir: t.TempDir()}
	srv, env := startServerProcess(t, f.serverDir, "127.0.0.1:0")
	f.env = env

	var token struct {
		Token string `json:"token"`
	}
	mustRunJSON(t, env, &token, "enroll-token", "create", "--note", "e2e")
	if _, code := run(t, "", "agent", "enroll", "--data", f.agentDir,
		"--server", env.server, "--token", token.Token, "--name", "e2e-device"); code != 0 {
		t.Fatalf("agent enroll exited %d", code)
	}
	f.agentArgs = append([]string{"agent", "--data", f.agentDir, "--poll", "1s",
		"--sync-interval", "500ms"}, agentArgs...)
	return f, srv
}

func (f *fleet) startAgent(t *testing.T) *process {
	return start(t, f.agentArgs...)
}

func (f *fleet) socket() string { return filepath.Join(f.agentDir, "unlock.sock") }

func TestLockQueuedOfflineSurvivesServerRestart(t *testing.T) {
	f, srv := newFleet(t, "--ensure-vm", "vm1")
	agent := f.startAgent(t)
	vm := waitVM(t, f.env, "vm1", "reported running", func(r vmRow) bool { return r.State == "running" })
	agent.stop(syscall.SIGTERM)

	var lock lockResponse
	mustRunJSON(t, f.env, &lock, "vm", "lock", vm.Device+"/vm1")
	if r, _ := findVM(t, f.env, "vm1"); r.LockState != "lock_pending" {
		t.Fatalf("lock_state with the agent offline = %q, want lock_pending", r.LockState)
	}

	listen := strings.TrimPrefix(f.env.server, "http://")
	srv.stop(syscall.SIGTERM)
	_, f.env = startServerProcess(t, f.serverDir, listen)
	if r, _ := findVM(t, f.env, "vm1"); r.LockState != "lock_pending" {
		t.Fatalf("lock_state after the server restart = %q, want lock_pending", r.LockState)
	}

	f.startAgent(t)
	waitVM(t, f.env, "vm1", "locked", func(r vmRow) bool { return r.LockState == "locked" })

	var commands []struct {
		Seq      int64  `json:"seq"`
		Kind     string `json:"kind"`
		State    string `json:"state"`
		Attempts int    `json:"attempts"`
	}
	mustRunJSON(t, f.env, &commands, "device", "commands", vm.Device)
	if len(commands) == 0 {
		t.Fatal("device commands listed nothing, want the lock command")
	}
	for _, c := range commands {
		if c.Attempts != 1 {
			t.Errorf("command %d (%s) was sent %d times, want exactly once", c.Seq, c.State, c.Attempts)
		}
		if c.State != "done" {
			t.Errorf("command %d state = %q, want done", c.Seq, c.State)
		}
	}
}

func TestAgentKilledAfterLockComesBackLocked(t *testing.T) {
	f, _ := newFleet(t, "--ensure-vm", "vm1")
	agent := f.startAgent(t)
	vm := waitVM(t, f.env, "vm1", "reported running", func(r vmRow) bool { return r.State == "running" })

	var lock lockResponse
	mustRunJSON(t, f.env, &lock, "vm", "lock", vm.Device+"/vm1", "--user-unlock")

	// The unlock socket answers "not_locked" (exit 3 with that message)
	// until the agent has applied the lock; a wrong secret then gets exit 2.
	waitFor(t, "the agent to apply the lock", func() bool {
		_, code := run(t, "probe-not-the-secret\n", "unlock", "vm1", "--socket", f.socket())
		return code == 2
	})
	agent.stop(syscall.SIGKILL)

	f.startAgent(t)
	locked := waitVM(t, f.env, "vm1", "locked", func(r vmRow) bool { return r.LockState == "locked" })
	if locked.State != "paused" {
		t.Errorf("state after the restart = %q, want paused", locked.State)
	}
	if _, code := run(t, lock.Secret+"\n", "unlock", "vm1", "--socket", f.socket()); code != 0 {
		t.Fatalf("unlock after the restart exited %d, want 0", code)
	}
	waitVM(t, f.env, "vm1", "unlocked", func(r vmRow) bool { return r.LockState == "unlocked" })
}
