// Package hypervisor defines the interface the agent uses to drive virtual
// machines, whatever runs them. Implementations live in sub-packages: sim
// (simulated, state in a local file) and libvirt (libvirtd over its Unix
// socket).
package hypervisor

import (
	"context"
	"errors"
)

// RunState is the run state of a VM, with the values of the VirMO
// VirMO/<x>/State node.
type RunState int

// Run states. The numbers are the values of VirMO/<x>/State.
const (
	StateStopped RunState = 10
	StateRunning RunState = 20
	StatePaused  RunState = 30
	StateFailed  RunState = 50
)

// String returns the lower-case name of the state ("running", ...).
func (s RunState) String() string {
	switch s {
	case StateStopped:
		return "stopped"
	case StateRunning:
		return "running"
	case StatePaused:
		return "paused"
	case StateFailed:
		return "failed"
	}
	return "unknown"
}

// Config is the configuration of a VM, applied at its next start.
type Config struct {
	VCPUs     int
	MemoryMiB int
	// Image is an image reference; empty means a diskless VM.
	Image     string
	AutoStart bool
}

// VM describes one VM as the hypervisor sees it.
type VM struct {
	// Name is the hypervisor's name of the VM; the agent uses it as the
	// VirMO/<x> node name.
	Name string
	// UUID is the hypervisor-unique id (VirMO/<x>/VMID).
	UUID   string
	State  RunState
	Config Config
}

// Errors that drivers return, so callers can map them to result codes.
var (
	ErrNotFound     = errors.New("hypervisor: no such VM")
	ErrExists       = errors.New("hypervisor: VM already exists")
	ErrInvalidState = errors.New("hypervisor: operation not valid in the VM's current state")
)

// Driver drives the VMs of one hypervisor. Every method is safe for
// concurrent use. Operations that find the VM already in the requested
// state succeed without doing anything (Pause of a paused VM returns nil).
type Driver interface {
	// List returns every VM the driver manages, sorted by Name.
	List(ctx context.Context) ([]VM, error)
	// Get returns one VM by name, or ErrNotFound.
	Get(ctx context.Context, name string) (VM, error)
	// Create defines a new stopped VM; ErrExists if the name is taken.
	Create(ctx context.Context, name string, cfg Config) (VM, error)
	// Remove stops the VM if needed and deletes it.
	Remove(ctx context.Context, name string) error
	// SetConfig stores a new configuration, applied at the next start.
	SetConfig(ctx context.Context, name string, cfg Config) error
	Start(ctx context.Context, name string) error
	// Stop powers the VM off (from running or paused).
	Stop(ctx context.Context, name string) error
	// Pause suspends a running VM; ErrInvalidState if it is stopped.
	Pause(ctx context.Context, name string) error
	// Resume continues a paused VM; ErrInvalidState if it is stopped.
	Resume(ctx context.Context, name string) error
	// SetUserAccess blocks (false) or allows (true) user access to the VM's
	// console, display and input, for a partial lock.
	SetUserAccess(ctx context.Context, name string, allowed bool) error
	// Close releases the driver's resources.
	Close() error
}
