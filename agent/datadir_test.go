package agent

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/virmo/virmo/dmtree"
)

// withUmask sets the process umask for the rest of the test. The agent
// tests do not run in parallel, so no other test sees it.
func withUmask(t *testing.T, mask int) {
	t.Helper()
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

func fileMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// openWrittenDataDir opens the state in dir, commits one snapshot so the
// -wal and -shm files exist, and keeps the state open for the checks.
func openWrittenDataDir(t *testing.T, dir string, logger *slog.Logger) {
	t.Helper()
	st, lock, err := openDataDir(dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.close()
		lock.Close()
	})
	if err := st.persist([]byte("snapshot"), []dmtree.Alert{{Type: "t"}}); err != nil {
		t.Fatal(err)
	}
}

func TestDataDirFilesPrivate(t *testing.T) {
	tests := []struct {
		name  string
		umask int
	}{
		{"umask 022", 0o022},
		{"umask 000", 0o000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withUmask(t, tt.umask)
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			openWrittenDataDir(t, dir, slog.New(slog.DiscardHandler))

			for _, name := range []string{stateFile, stateFile + "-wal", stateFile + "-shm",
				lockFile} {
				if got := fileMode(t, filepath.Join(dir, name)); got != 0o600 {
					t.Errorf("mode of %s = %04o, want 0600", name, got)
				}
			}
		})
	}
}

func TestDataDirTightensReadableState(t *testing.T) {
	withUmask(t, 0o022)
	dir := t.TempDir()
	path := filepath.Join(dir, stateFile)

	// An older agent left a state readable by everyone.
	st, err := openState(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.persist([]byte("old"), nil); err != nil {
		t.Fatal(err)
	}
	st.close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	openWrittenDataDir(t, dir, slog.New(slog.NewTextHandler(&logs, nil)))

	if got := fileMode(t, path); got != 0o600 {
		t.Errorf("mode of %s = %04o, want 0600", stateFile, got)
	}
	if n := strings.Count(logs.String(), "path="+path+" "); n != 1 {
		t.Errorf("warnings naming %s = %d, want 1; logs:\n%s", path, n, logs.String())
	}
}

func TestDataDirCreatedPrivate(t *testing.T) {
	withUmask(t, 0o000)
	dir := filepath.Join(t.TempDir(), "var", "agent")
	openWrittenDataDir(t, dir, slog.New(slog.DiscardHandler))

	if got := fileMode(t, dir); got != 0o700 {
		t.Errorf("mode of new data directory = %04o, want 0700", got)
	}
}

func TestDataDirKeepsExistingDirMode(t *testing.T) {
	withUmask(t, 0o022)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	openWrittenDataDir(t, dir, slog.New(slog.DiscardHandler))

	if got := fileMode(t, dir); got != 0o750 {
		t.Errorf("mode of existing data directory = %04o, want 0750 kept", got)
	}
}

func TestDataDirRejectsSymlinkState(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere.db")
	if err := os.Symlink(target, filepath.Join(dir, stateFile)); err != nil {
		t.Fatal(err)
	}
	_, _, err := openDataDir(dir, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("openDataDir with agent.db a symbolic link succeeded, want an error")
	}
	if !strings.Contains(err.Error(), stateFile) {
		t.Errorf("error = %q, want the path of %s", err, stateFile)
	}
}
