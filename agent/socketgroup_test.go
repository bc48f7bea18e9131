package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// socketGroupAgent returns an agent with only the fields listenUnlock
// reads, logging into logs.
func socketGroupAgent(path, group string, logs *bytes.Buffer) *Agent {
	return &Agent{
		cfg: Config{SocketPath: path, SocketGroup: group},
		log: slog.New(slog.NewTextHandler(logs, nil)),
	}
}

func TestSocketGroupReachWarning(t *testing.T) {
	group := strconv.Itoa(os.Getgid())
	tests := []struct {
		name     string
		dirMode  os.FileMode
		wantWarn bool
	}{
		{"private dir", 0o700, true},
		{"group search", 0o710, false},
		{"world search", 0o701, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Unix socket paths are limited to about 100 bytes.
			dir, err := os.MkdirTemp("", "agent")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			if err := os.Chmod(dir, tt.dirMode); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			a := socketGroupAgent(filepath.Join(dir, SocketName), group, &logs)

			ln, err := a.listenUnlock()
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()

			fi, err := os.Stat(a.cfg.SocketPath)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o660 {
				t.Errorf("socket mode = %04o, want 0660", mode)
			}
			warned := strings.Contains(logs.String(), "cannot reach the unlock socket")
			if warned != tt.wantWarn {
				t.Errorf("warning logged = %v, want %v; logs:\n%s", warned, tt.wantWarn,
					logs.String())
			}
		})
	}
}

func TestSocketGroupEmptyKeepsPrivate(t *testing.T) {
	dir, err := os.MkdirTemp("", "agent")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var logs bytes.Buffer
	a := socketGroupAgent(filepath.Join(dir, SocketName), "", &logs)

	ln, err := a.listenUnlock()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	fi, err := os.Stat(a.cfg.SocketPath)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("socket mode = %04o, want 0600", mode)
	}
}
