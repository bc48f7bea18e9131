package hypervisor

import (
	"errors"
	"fmt"
	"strings"
)

// Op is a run-state operation of a Driver.
type Op int

// Run-state operations.
const (
	OpStart Op = iota + 1
	OpStop
	OpPause
	OpResume
)

// String returns the lower-case name of the operation ("start", ...).
func (op Op) String() string {
	switch op {
	case OpStart:
		return "start"
	case OpStop:
		return "stop"
	case OpPause:
		return "pause"
	case OpResume:
		return "resume"
	}
	return "unknown"
}

// Next returns the state that op leads to from the state from, the rule
// every driver follows:
//
//   - Start: stopped or failed to running; running stays running.
//   - Stop: running, paused or failed to stopped; stopped stays stopped.
//   - Pause: running to paused; paused stays paused.
//   - Resume: paused to running; running stays running.
//
// When the result equals from, the operation is a no-op that succeeds.
// Next returns ErrInvalidState for the other pairs: Start of a paused VM
// (use Resume), Pause or Resume of a stopped or failed VM.
func Next(op Op, from RunState) (RunState, error) {
	switch {
	case op == OpStart && (from == StateStopped || from == StateFailed):
		return StateRunning, nil
	case op == OpStart && from == StateRunning:
		return from, nil
	case op == OpStop && from != StateStopped && from.Valid():
		return StateStopped, nil
	case op == OpStop && from == StateStopped:
		return from, nil
	case op == OpPause && (from == StateRunning || from == StatePaused):
		return StatePaused, nil
	case op == OpResume && (from == StatePaused || from == StateRunning):
		return StateRunning, nil
	}
	return from, fmt.Errorf("%w: cannot %s a %s VM", ErrInvalidState, op, from)
}

// Valid reports whether s is one of the defined run states.
func (s RunState) Valid() bool {
	switch s {
	case StateStopped, StateRunning, StatePaused, StateFailed:
		return true
	}
	return false
}

// Errors for invalid arguments, so callers can map them to result codes.
var (
	ErrInvalidName   = errors.New("hypervisor: invalid VM name")
	ErrInvalidConfig = errors.New("hypervisor: invalid VM configuration")
)

// MaxNameLen is the maximum length of a VM name in bytes.
const MaxNameLen = 64

// ValidateName checks that name can name a VM: 1 to MaxNameLen ASCII
// letters, digits, '-', '_' or '.', not starting with '.' or '-'. The rule
// keeps names safe as a management tree node name, a libvirt domain name
// and a file name. It returns an error wrapping ErrInvalidName.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w: %q must be 1 to %d bytes", ErrInvalidName, name, MaxNameLen)
	}
	if name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("%w: %q must not start with '.' or '-'", ErrInvalidName, name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("-_.", r)
		if !ok {
			return fmt.Errorf("%w: %q contains %q; use letters, digits, '-', '_' or '.'",
				ErrInvalidName, name, r)
		}
	}
	return nil
}

// Upper bounds of Config. Both stay far below the largest value of the
// 32-bit int format of the VirMO Config nodes (2147483647).
const (
	// MaxVCPUs is the maximum number of virtual CPUs of a VM.
	MaxVCPUs = 1024
	// MaxMemoryMiB is the maximum memory of a VM: 16 TiB.
	MaxMemoryMiB = 16 << 20
)

// Validate checks that c can define a VM: 1 to MaxVCPUs virtual CPUs and
// 1 MiB to MaxMemoryMiB of memory. It returns an error wrapping
// ErrInvalidConfig that names the field and its value. Drivers may apply
// further limits of their own.
func (c Config) Validate() error {
	if c.VCPUs < 1 || c.VCPUs > MaxVCPUs {
		return fmt.Errorf("%w: VCPUs is %d, must be 1 to %d",
			ErrInvalidConfig, c.VCPUs, MaxVCPUs)
	}
	if c.MemoryMiB < 1 || c.MemoryMiB > MaxMemoryMiB {
		return fmt.Errorf("%w: MemoryMiB is %d, must be 1 to %d (16 TiB)",
			ErrInvalidConfig, c.MemoryMiB, MaxMemoryMiB)
	}
	return nil
}
