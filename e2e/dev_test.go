package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lockResponse is the output of `virmo vm lock -o json`.
type lockResponse struct {
	Intent struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"intent"`
	Secret string `json:"secret"`
}

func TestDevLockAndUserUnlock(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"plain http", nil},
		{"tls xml md5", []string{"--tls", "--encoding", "xml", "--auth", "md5"}},
		{"tls wbxml md5", []string{"--tls", "--encoding", "wbxml", "--auth", "md5"}},
		{"tls xml hmac", []string{"--tls", "--encoding", "xml", "--auth", "hmac"}},
		{"tls wbxml hmac", []string{"--tls", "--encoding", "wbxml", "--auth", "hmac"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { testDevLockAndUserUnlock(t, tc.args) })
	}
}

func testDevLockAndUserUnlock(t *testing.T, devArgs []string) {
	dir := t.TempDir()
	start(t, append([]string{"dev", "--data", dir, "--listen", "127.0.0.1:0", "--poll", "1s"}, devArgs...)...)
	env := operatorEnv{
		server: waitFile(t, filepath.Join(dir, "server.url")),
		token:  waitFile(t, filepath.Join(dir, "admin.token")),
	}
	if strings.HasPrefix(env.server, "https://") {
		env.caFile = filepath.Join(dir, "ca.pem")
	}
	if want := slices.Contains(devArgs, "--tls"); want != strings.HasPrefix(env.server, "https://") {
		t.Fatalf("server URL %s, want HTTPS = %t", env.server, want)
	}
	socket := filepath.Join(dir, "agent", "unlock.sock")

	vm := waitVM(t, env, "vm1", "reported running", func(r vmRow) bool { return r.State == "running" })
	if vm.LockState != "unlocked" {
		t.Fatalf("lock_state before the lock = %q, want unlocked", vm.LockState)
	}

	var lock lockResponse
	mustRunJSON(t, env, &lock, "vm", "lock", vm.Device+"/vm1", "--user-unlock")
	if len(lock.Secret) != len("XXXX-XXXX-XXXX") {
		t.Fatalf("lock secret = %q, want the XXXX-XXXX-XXXX form", lock.Secret)
	}
	first, _ := findVM(t, env, "vm1")
	if first.LockState != "lock_pending" && first.LockState != "locked" {
		t.Fatalf("lock_state right after the request = %q, want lock_pending or locked", first.LockState)
	}

	locked := waitVM(t, env, "vm1", "locked", func(r vmRow) bool { return r.LockState == "locked" })
	if locked.State != "paused" {
		t.Errorf("state while locked = %q, want paused", locked.State)
	}

	if _, code := run(t, "WRONG-WRONG-WRON\n", "unlock", "vm1", "--socket", socket); code != 2 {
		t.Fatalf("unlock with a wrong secret exited %d, want 2", code)
	}
	if r, _ := findVM(t, env, "vm1"); r.LockState != "locked" {
		t.Fatalf("lock_state after a wrong secret = %q, want locked", r.LockState)
	}

	if _, code := run(t, lock.Secret+"\n", "unlock", "vm1", "--socket", socket); code != 0 {
		t.Fatalf("unlock with the right secret exited %d, want 0", code)
	}
	unlocked := waitVM(t, env, "vm1", "unlocked", func(r vmRow) bool { return r.LockState == "unlocked" })
	waitVM(t, env, "vm1", "running again", func(r vmRow) bool { return r.State == "running" })
	if unlocked.UserUnlock {
		t.Errorf("user_unlock after a single-use unlock = true, want false")
	}

	if _, code := run(t, lock.Secret+"\n", "unlock", "vm1", "--socket", socket); code != 3 {
		t.Errorf("second unlock of an unlocked VM exited %d, want 3", code)
	}
}
