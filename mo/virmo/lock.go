package virmo

import (
	"context"
	"errors"
	"fmt"

	"github.com/virmo/virmo/hypervisor"
)

// errLocked is returned by runState for Start and Resume of a locked VM.
var errLocked = errors.New("VM is locked: unlock it before starting or resuming it")

// lockLevel returns the LAWMO State of the VM (10, 20 or 30). A tree whose
// LAWMO State is missing reads LockParams/State: 1 counts as a full lock.
func (v vmTx) lockLevel() int {
	if n, err := v.int(pathLAWMOState); err == nil &&
		(n == LAWMOFullyLocked || n == LAWMOPartiallyLocked || n == LAWMOUnlocked) {
		return n
	}
	if n, err := v.int(pathLockState); err == nil && n == LockStateLocked {
		return LAWMOFullyLocked
	}
	return LAWMOUnlocked
}

func (v vmTx) locked() bool {
	n, err := v.int(pathLockState)
	return (err == nil && n == LockStateLocked) || v.lockLevel() != LAWMOUnlocked
}

// setLock moves the VM to level (a LAWMO State) on the hypervisor and in the
// tree, keeping LockParams/State and LAWMO State in agreement:
//
//   - full lock pauses a running VM and remembers in Ext/ResumeOnUnlock that
//     it ran; a VM already fully locked keeps what it remembered;
//   - partial lock keeps the VM running (resuming it if a full lock paused
//     it) and blocks user access;
//   - unlock resumes the VM only if a full lock paused it, and allows user
//     access again.
//
// Every lock increments Ext/LockGeneration. The tree changes only after the
// hypervisor calls succeed.
func (m *MO) setLock(ctx context.Context, v vmTx, level int) error {
	vm, err := m.drv.Get(ctx, v.name)
	if err != nil {
		return err
	}
	cur := v.lockLevel()
	resume := v.bool(pathResumeOnUnlock)

	switch level {
	case LAWMOFullyLocked:
		if cur != LAWMOFullyLocked {
			resume = vm.State == hypervisor.StateRunning
			if resume {
				if err := m.drv.Pause(ctx, v.name); err != nil {
					return fmt.Errorf("pause: %w", err)
				}
			}
		}

	case LAWMOPartiallyLocked:
		if cur == LAWMOFullyLocked && resume && vm.State == hypervisor.StatePaused {
			if err := m.drv.Resume(ctx, v.name); err != nil {
				return fmt.Errorf("resume: %w", err)
			}
		}
		if err := m.drv.SetUserAccess(ctx, v.name, false); err != nil {
			return fmt.Errorf("block user access: %w", err)
		}
		resume = false

	case LAWMOUnlocked:
		if cur == LAWMOFullyLocked && resume && vm.State == hypervisor.StatePaused {
			if err := m.drv.Resume(ctx, v.name); err != nil {
				return fmt.Errorf("resume: %w", err)
			}
		}
		if err := m.drv.SetUserAccess(ctx, v.name, true); err != nil {
			return fmt.Errorf("allow user access: %w", err)
		}
		resume = false

	default:
		return fmt.Errorf("invalid lock level %d", level)
	}

	return m.writeLock(ctx, v, level, resume)
}

// writeLock stores the lock state of level and the VM's current run state.
func (m *MO) writeLock(ctx context.Context, v vmTx, level int, resume bool) error {
	lockState := LockStateLocked
	if level == LAWMOUnlocked {
		lockState = LockStateUnlocked
	} else {
		gen, _ := v.int(pathLockGeneration)
		if err := v.putInt(pathLockGeneration, gen+1); err != nil {
			return err
		}
	}

	if err := v.putInt(pathLockState, lockState); err != nil {
		return err
	}
	if err := v.putInt(pathLAWMOState, level); err != nil {
		return err
	}
	if err := v.putBool(pathResumeOnUnlock, resume); err != nil {
		return err
	}
	return m.refreshState(ctx, v)
}

// refreshState copies the hypervisor's run state of the VM to State.
func (m *MO) refreshState(ctx context.Context, v vmTx) error {
	vm, err := m.drv.Get(ctx, v.name)
	if err != nil {
		return err
	}
	return v.putInt(pathState, int(vm.State))
}

// runState runs a run-state operation. Start and Resume of a locked VM
// return errLocked; Stop forgets that a full lock paused the VM, so an
// unlock leaves it stopped.
func (m *MO) runState(ctx context.Context, v vmTx, op string) error {
	var err error
	switch op {
	case OpStart, OpResume:
		if v.locked() {
			return errLocked
		}
		if op == OpStart {
			err = m.drv.Start(ctx, v.name)
		} else {
			err = m.drv.Resume(ctx, v.name)
		}
	case OpStop:
		err = m.drv.Stop(ctx, v.name)
		if err == nil && v.exists(pathResumeOnUnlock) {
			err = v.putBool(pathResumeOnUnlock, false)
		}
	case OpPause:
		err = m.drv.Pause(ctx, v.name)
	default:
		err = fmt.Errorf("unknown operation %q", op)
	}
	if err != nil {
		return err
	}
	return m.refreshState(ctx, v)
}
