package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// Modes of the data directory the agent creates and of every file it keeps
// there. agent.db holds the DM account password and the unlock digests, so
// only the agent's own user may read it.
const (
	dataDirMode     fs.FileMode = 0o700
	privateFileMode fs.FileMode = 0o600
)

// statePath returns the path of the state database in dataDir.
func statePath(dataDir string) string { return filepath.Join(dataDir, stateFile) }

// openDataDir creates dataDir if needed, takes its lock and opens the
// state. Every file of the state is private to the agent's user: see
// ensurePrivateFile.
func openDataDir(dataDir string, logger *slog.Logger) (*stateStore, *os.File, error) {
	if err := makeDataDir(dataDir); err != nil {
		return nil, nil, err
	}
	if err := ensurePrivateFile(filepath.Join(dataDir, lockFile), true, logger); err != nil {
		return nil, nil, err
	}
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return nil, nil, err
	}

	// SQLite creates the -wal and -shm files with the mode of the
	// database file, so creating agent.db with mode 0600 first covers them.
	// The loop also tightens files that an older agent left readable.
	path := statePath(dataDir)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := ensurePrivateFile(p, p == path, logger); err != nil {
			lock.Close()
			return nil, nil, err
		}
	}
	st, err := openState(path)
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	return st, lock, nil
}

// makeDataDir creates dataDir with mode 0700 whatever the umask, and any
// missing parent with 0700 less the umask. An existing directory keeps its
// mode, because its owner may give a group access to the unlock socket in
// it on purpose, and the files inside are private anyway.
func makeDataDir(dataDir string) error {
	_, err := os.Stat(dataDir)
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("check agent data directory %s: %w", dataDir, err)
	}
	if err := os.MkdirAll(dataDir, dataDirMode); err != nil {
		return fmt.Errorf("create agent data directory %s: %w", dataDir, err)
	}
	if err := os.Chmod(dataDir, dataDirMode); err != nil {
		return fmt.Errorf("set mode of agent data directory %s: %w", dataDir, err)
	}
	return nil
}

// ensurePrivateFile makes path a regular file with mode 0600. A missing
// file is created (when create is true) with that mode whatever the
// umask. An existing file that its group or others may access is set to
// 0600 with one warning naming the path, since it may hold the device's
// credentials. A symbolic link at path is an error.
func ensurePrivateFile(path string, create bool, logger *slog.Logger) error {
	flags := os.O_RDONLY | syscall.O_NOFOLLOW
	if create {
		flags = os.O_RDWR | os.O_CREATE | syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flags, privateFileMode)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()

	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("check mode of %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file; remove it or choose another data directory",
			path)
	}
	mode := fi.Mode().Perm()
	if mode == privateFileMode {
		return nil
	}
	if mode&0o077 != 0 {
		logger.Warn("agent file was readable by other users; set its mode to 0600",
			"path", path, "old_mode", fmt.Sprintf("%04o", mode))
	}
	if err := f.Chmod(privateFileMode); err != nil {
		return fmt.Errorf("set mode of %s to 0600: %w (run: chmod 600 %s)", path, err, path)
	}
	return nil
}
