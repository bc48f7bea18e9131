package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// dataLockFile is the file in DataDir whose flock one server process holds,
// so two servers never share a key file, an admin token and a server.url.
const dataLockFile = "server.lock"

// lockDataDir takes an exclusive, non-blocking flock on DataDir/server.lock.
// The lock ends when the returned file is closed or the process exits. A
// server in the same process that did not close its file holds the lock too.
func lockDataDir(dataDir string) (*os.File, error) {
	path := filepath.Join(dataDir, dataLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("server data directory %s is in use by another process "+
				"(a running `virmo server` or `virmo dev`?); stop it first, or give this "+
				"server its own --data directory", dataDir)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}
