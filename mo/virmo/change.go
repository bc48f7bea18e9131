package virmo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/syncml"
)

// DefaultConfig is the configuration of a VM a server creates with an Add
// of VirMO/<x>, before it replaces the Config leaves.
var DefaultConfig = hypervisor.Config{VCPUs: 1, MemoryMiB: 512}

// beforeChange applies the rules of a server's change below VirMO/<x>:
//
//   - Replace of LockParams/State: 405, only the client sets it.
//   - Replace of UserUnlock true while UnlockAuth is incomplete (missing,
//     AuthType not 0, empty AuthData or AuthDigest): 403, nothing changes.
//   - Replace of AuthType other than 0: 415.
//   - Replace of AuthData or AuthDigest with an empty value while
//     UserUnlock is true: 403.
//   - Replace of AuthDigest with a non-empty value (the server
//     re-provisions): Ext/UnlockAttempts becomes 0.
//   - Replace of Ext/MaxUnlockAttempts below 1: 403; other values reset
//     nothing.
//   - Replace of a Config leaf: stored on the hypervisor (403 for VCPUs or
//     MemoryMiB below 1).
//   - Delete of LockParams/UnlockAuth sets UserUnlock false.
//   - Delete of VirMO/<x> removes the VM from the hypervisor.
func (m *MO) beforeChange(tx *dmtree.Tx, ch dmtree.Change) error {
	v, rest, ok := vmFor(tx, ch.URI)
	if !ok {
		return nil
	}
	path := strings.Join(rest, "/")
	ctx := context.Background()

	switch ch.Op {
	case dmtree.OpReplace:
		return m.beforeReplace(ctx, v, path, ch)
	case dmtree.OpDelete:
		return m.beforeDelete(ctx, v, path, ch)
	}
	return nil
}

func (m *MO) beforeReplace(ctx context.Context, v vmTx, path string, ch dmtree.Change) error {
	var value []byte
	if ch.New != nil {
		value = ch.New.Value
	}

	switch path {
	case pathLockState:
		return dmtree.Errorf(syncml.StatusCommandNotAllowed,
			"%s is set only by the client", ch.URI)

	case pathUserUnlock:
		if string(value) == "true" && !v.unlockAuthComplete() {
			return dmtree.Errorf(syncml.StatusForbidden,
				"cannot set %s true: %s must exist with AuthType 0 and non-empty "+
					"AuthData and AuthDigest first", ch.URI, v.uri(pathUnlockAuth))
		}

	case pathAuthType:
		if string(value) != strconv.Itoa(AuthTypeDigestSHA256) {
			return dmtree.Errorf(syncml.StatusUnsupportedFormat,
				"AuthType %s is not supported: only 0 (DIGEST-SHA256) is", value)
		}

	case pathAuthData, pathAuthDigest:
		if len(value) == 0 && v.bool(pathUserUnlock) {
			return dmtree.Errorf(syncml.StatusForbidden,
				"cannot empty %s while UserUnlock is true: set UserUnlock false first", ch.URI)
		}
		if path == pathAuthDigest && len(value) > 0 {
			return v.putInt(pathUnlockAttempts, 0)
		}

	case pathMaxUnlockAttempts:
		if n, err := strconv.Atoi(string(value)); err != nil || n < 1 {
			return dmtree.Errorf(syncml.StatusForbidden,
				"MaxUnlockAttempts %s is invalid: use a number of at least 1", value)
		}

	case pathVCPUs, pathMemoryMiB, pathImage, pathAutoStart:
		return m.replaceConfig(ctx, v, path, string(value))
	}
	return nil
}

// replaceConfig stores one changed Config leaf on the hypervisor.
func (m *MO) replaceConfig(ctx context.Context, v vmTx, path, value string) error {
	vm, err := m.drv.Get(ctx, v.name)
	if err != nil {
		return driverStatus(err)
	}

	cfg := vm.Config
	switch path {
	case pathVCPUs, pathMemoryMiB:
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 {
			return dmtree.Errorf(syncml.StatusForbidden,
				"%s %q is invalid: use a number of at least 1", path, value)
		}
		if path == pathVCPUs {
			cfg.VCPUs = n
		} else {
			cfg.MemoryMiB = n
		}
	case pathImage:
		cfg.Image = value
	case pathAutoStart:
		cfg.AutoStart = value == "true"
	}

	if err := m.drv.SetConfig(ctx, v.name, cfg); err != nil {
		return driverStatus(err)
	}
	return nil
}

func (m *MO) beforeDelete(ctx context.Context, v vmTx, path string, ch dmtree.Change) error {
	switch path {
	case "":
		err := m.drv.Remove(ctx, v.name)
		if err != nil && !errors.Is(err, hypervisor.ErrNotFound) {
			return driverStatus(err)
		}
		m.log.Info("VM removed", "vm", v.name, "server", ch.ServerID)

	case pathUnlockAuth:
		if v.bool(pathUserUnlock) {
			return v.putBool(pathUserUnlock, false)
		}
	}
	return nil
}

// AfterChange completes a server's Add: a new VirMO/<x> gets a hypervisor
// VM created from DefaultConfig and the values of its VMID, State and Ext
// leaves, and a new LockParams/UnlockAuth gets UnlockAuthACL. The engine
// has already created the required children with their DDF defaults
// (AuthType 0, empty AuthData and AuthDigest).
func (m *MO) AfterChange(tx *dmtree.Tx, ch dmtree.Change) error {
	if ch.Op != dmtree.OpAdd {
		return nil
	}
	v, rest, ok := vmFor(tx, ch.URI)
	if !ok {
		return nil
	}

	switch strings.Join(rest, "/") {
	case "":
		return m.createVM(context.Background(), v, ch.ServerID)
	case pathUnlockAuth:
		return tx.SetACL(v.uri(pathUnlockAuth), UnlockAuthACL(m.opts.ProvisioningServerID))
	}
	return nil
}

// createVM creates the hypervisor VM of a VirMO/<x> a server added.
func (m *MO) createVM(ctx context.Context, v vmTx, serverID string) error {
	vm, err := m.drv.Create(ctx, v.name, DefaultConfig)
	if err != nil {
		return driverStatus(err)
	}
	if err := m.fillVM(v, vm, true); err != nil {
		return err
	}
	if err := v.putInt(pathMaxUnlockAttempts, m.opts.MaxUnlockAttempts); err != nil {
		return err
	}
	m.log.Info("VM created", "vm", v.name, "vmid", vm.UUID, "server", serverID)
	return nil
}

// driverStatus maps a hypervisor error to the status of a server command.
func driverStatus(err error) error {
	switch {
	case errors.Is(err, hypervisor.ErrNotFound):
		return dmtree.Errorf(syncml.StatusNotFound, "%v", err)
	case errors.Is(err, hypervisor.ErrExists):
		return dmtree.Errorf(syncml.StatusAlreadyExists, "%v", err)
	case errors.Is(err, hypervisor.ErrInvalidState),
		errors.Is(err, hypervisor.ErrInvalidName),
		errors.Is(err, hypervisor.ErrInvalidConfig):
		return dmtree.Errorf(syncml.StatusForbidden, "%v", err)
	}
	return fmt.Errorf("hypervisor: %w", err)
}
