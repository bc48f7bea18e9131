package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal and returns its controller and the
// terminal the child process uses.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	controller, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	fd := int(controller.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pseudo-terminal number: %v", err)
	}
	terminal, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		terminal.Close()
		controller.Close()
	})
	return controller, terminal
}

func TestUnlockPromptEnds(t *testing.T) {
	tests := []struct {
		name  string
		input string
		// signal is sent instead of input when set.
		signal   syscall.Signal
		wantCode int
		wantText string
	}{
		{"ctrl-c", "\x03", 0, 130, "interrupted"},
		{"ctrl-d", "\x04", 0, 1, "no secret typed"},
		{"empty line", "\r", 0, 1, "no secret typed"},
		{"sigterm", "", syscall.SIGTERM, 143, "interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			controller, terminal := openPTY(t)
			// The socket does not exist, so any attempt to contact the agent
			// would fail with a different message.
			socket := filepath.Join(t.TempDir(), "unlock.sock")
			cmd := exec.Command(virmoBin, "unlock", "vm1", "--socket", socket)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = terminal, terminal, terminal
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			output := &lockedBuffer{}
			go func() {
				buf := make([]byte, 256)
				for {
					n, err := controller.Read(buf)
					output.Write(buf[:n])
					if err != nil {
						return
					}
				}
			}()
			waitFor(t, "the prompt", func() bool { return strings.Contains(output.String(), "Secret for vm1:") })

			if tt.signal != 0 {
				if err := cmd.Process.Signal(tt.signal); err != nil {
					t.Fatal(err)
				}
			} else if _, err := controller.WriteString(tt.input); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("virmo unlock returned %v, want a non-zero exit", err)
			}
			if exit.ExitCode() != tt.wantCode {
				t.Errorf("exit code %d, want %d", exit.ExitCode(), tt.wantCode)
			}
			waitFor(t, "the message", func() bool { return strings.Contains(output.String(), tt.wantText) })
		})
	}
}
