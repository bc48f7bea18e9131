// Package sim is a simulated hypervisor driver. It keeps the VMs in a
// JSON file and runs nothing, but it follows the state rules of a real
// hypervisor (hypervisor.Next), so the agent and its tests can drive it
// like libvirt.
//
// Every operation locks the state file with flock(2), reads it and, for
// changes, replaces it atomically. Several Drivers, in one process or in
// several, may therefore share one directory, and a test can change a
// VM's state behind the agent's back with SetState.
package sim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/virmo/virmo/hypervisor"
)

// ErrClosed is returned by the methods of a closed Driver.
var ErrClosed = errors.New("sim: driver is closed")

// Driver is a simulated hypervisor whose state lives in one directory. It
// implements hypervisor.Driver.
type Driver struct {
	dir string

	mu   sync.Mutex
	lock *os.File // the open lock file; nil once closed
}

var _ hypervisor.Driver = (*Driver)(nil)

// Open opens the simulated hypervisor whose state is in dir, creating dir
// (mode 0700) and an empty state if they do not exist. It fails if the
// state file cannot be read or decoded, and it deletes temporary files
// left by a writer that was killed.
func Open(dir string) (*Driver, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open sim hypervisor: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sim hypervisor: %w", err)
	}
	d := &Driver{dir: dir, lock: lock}

	err = d.withLock(syscall.LOCK_EX, func() error {
		if err := removeTempFiles(dir); err != nil {
			return err
		}
		_, err := readState(dir)
		return err
	})
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("open sim hypervisor in %s: %w", dir, err)
	}
	return d, nil
}

// Close releases the lock file. Later calls return ErrClosed.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()

	if d.lock == nil {
		return nil
	}
	err := d.lock.Close()
	d.lock = nil
	return err
}

// withLock runs fn while holding the in-process mutex and a flock of the
// given kind (syscall.LOCK_SH or syscall.LOCK_EX) on the lock file.
func (d *Driver) withLock(how int, fn func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()

	if d.lock == nil {
		return ErrClosed
	}
	fd := int(d.lock.Fd())
	if err := flock(fd, how); err != nil {
		return fmt.Errorf("lock state file: %w", err)
	}
	defer flock(fd, syscall.LOCK_UN)

	return fn()
}

// flock calls flock(2), retrying when a signal interrupts it.
func flock(fd, how int) error {
	for {
		err := syscall.Flock(fd, how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// read returns the current state under a shared lock.
func (d *Driver) read() (fileState, error) {
	var s fileState
	err := d.withLock(syscall.LOCK_SH, func() error {
		var err error
		s, err = readState(d.dir)
		return err
	})
	return s, err
}

// update reads the state under an exclusive lock, lets fn change it and
// writes it back unless fn fails or reports no change.
func (d *Driver) update(fn func(s *fileState) (changed bool, err error)) error {
	return d.withLock(syscall.LOCK_EX, func() error {
		s, err := readState(d.dir)
		if err != nil {
			return err
		}
		changed, err := fn(&s)
		if err != nil || !changed {
			return err
		}
		return writeState(d.dir, s)
	})
}

// updateVM runs fn on the VM named name under update, or returns
// hypervisor.ErrNotFound.
func (d *Driver) updateVM(name string, fn func(r *vmRecord) (bool, error)) error {
	return d.update(func(s *fileState) (bool, error) {
		i := s.find(name)
		if i < 0 {
			return false, fmt.Errorf("%w: %q", hypervisor.ErrNotFound, name)
		}
		return fn(&s.VMs[i])
	})
}

// List returns every VM, sorted by name.
func (d *Driver) List(ctx context.Context) ([]hypervisor.VM, error) {
	s, err := d.read()
	if err != nil {
		return nil, err
	}
	vms := make([]hypervisor.VM, 0, len(s.VMs))
	for _, r := range s.VMs {
		vms = append(vms, r.vm())
	}
	return vms, nil
}

// Get returns the VM named name, or hypervisor.ErrNotFound.
func (d *Driver) Get(ctx context.Context, name string) (hypervisor.VM, error) {
	s, err := d.read()
	if err != nil {
		return hypervisor.VM{}, err
	}
	i := s.find(name)
	if i < 0 {
		return hypervisor.VM{}, fmt.Errorf("%w: %q", hypervisor.ErrNotFound, name)
	}
	return s.VMs[i].vm(), nil
}

// Create defines a stopped VM with a random UUID and user access allowed.
// It returns hypervisor.ErrExists if the name is taken, and an error
// wrapping hypervisor.ErrInvalidName or hypervisor.ErrInvalidConfig for a
// bad name or configuration.
func (d *Driver) Create(ctx context.Context, name string, cfg hypervisor.Config) (hypervisor.VM, error) {
	if err := hypervisor.ValidateName(name); err != nil {
		return hypervisor.VM{}, err
	}
	if err := cfg.Validate(); err != nil {
		return hypervisor.VM{}, err
	}

	r := vmRecord{
		Name:       name,
		UUID:       newUUID(),
		State:      hypervisor.StateStopped,
		Config:     toRecord(cfg),
		UserAccess: true,
	}
	err := d.update(func(s *fileState) (bool, error) {
		if s.find(name) >= 0 {
			return false, fmt.Errorf("%w: %q", hypervisor.ErrExists, name)
		}
		s.VMs = append(s.VMs, r)
		return true, nil
	})
	if err != nil {
		return hypervisor.VM{}, err
	}
	return r.vm(), nil
}

// Remove deletes the VM named name in any state, or returns
// hypervisor.ErrNotFound.
func (d *Driver) Remove(ctx context.Context, name string) error {
	return d.update(func(s *fileState) (bool, error) {
		i := s.find(name)
		if i < 0 {
			return false, fmt.Errorf("%w: %q", hypervisor.ErrNotFound, name)
		}
		s.VMs = append(s.VMs[:i], s.VMs[i+1:]...)
		return true, nil
	})
}

// SetConfig stores cfg for the VM named name in any state. It returns an
// error wrapping hypervisor.ErrInvalidConfig for a bad configuration.
func (d *Driver) SetConfig(ctx context.Context, name string, cfg hypervisor.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	return d.updateVM(name, func(r *vmRecord) (bool, error) {
		r.Config = toRecord(cfg)
		return true, nil
	})
}

// Start runs a stopped or failed VM. See hypervisor.Next for the rules.
func (d *Driver) Start(ctx context.Context, name string) error {
	return d.transition(name, hypervisor.OpStart)
}

// Stop powers off a running, paused or failed VM.
func (d *Driver) Stop(ctx context.Context, name string) error {
	return d.transition(name, hypervisor.OpStop)
}

// Pause suspends a running VM.
func (d *Driver) Pause(ctx context.Context, name string) error {
	return d.transition(name, hypervisor.OpPause)
}

// Resume continues a paused VM.
func (d *Driver) Resume(ctx context.Context, name string) error {
	return d.transition(name, hypervisor.OpResume)
}

func (d *Driver) transition(name string, op hypervisor.Op) error {
	return d.updateVM(name, func(r *vmRecord) (bool, error) {
		next, err := hypervisor.Next(op, r.State)
		if err != nil {
			return false, fmt.Errorf("%s %q: %w", op, name, err)
		}
		changed := next != r.State
		r.State = next
		return changed, nil
	})
}

// SetUserAccess stores whether user access to the VM is allowed. The
// simulation has no console to block, so tests read it back with
// UserAccess.
func (d *Driver) SetUserAccess(ctx context.Context, name string, allowed bool) error {
	return d.updateVM(name, func(r *vmRecord) (bool, error) {
		changed := r.UserAccess != allowed
		r.UserAccess = allowed
		return changed, nil
	})
}

// UserAccess reports whether user access to the VM named name is allowed.
// It returns false if the VM does not exist or the state cannot be read.
func (d *Driver) UserAccess(name string) bool {
	s, err := d.read()
	if err != nil {
		return false
	}
	i := s.find(name)
	return i >= 0 && s.VMs[i].UserAccess
}

// SetState sets the run state of the VM named name without the rules of
// hypervisor.Next, for tests that simulate a change made behind the
// agent's back (a locked VM resumed from outside) or a crash
// (hypervisor.StateFailed). It returns hypervisor.ErrNotFound for an
// unknown VM and an error for an undefined state.
func (d *Driver) SetState(name string, state hypervisor.RunState) error {
	if !state.Valid() {
		return fmt.Errorf("set state of %q: invalid state %d", name, int(state))
	}
	return d.updateVM(name, func(r *vmRecord) (bool, error) {
		changed := r.State != state
		r.State = state
		return changed, nil
	})
}
