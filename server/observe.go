package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/virmo/virmo/server/dmsession"
	"github.com/virmo/virmo/store"
)

// AlertReceived applies a UserUnlock or StateChange alert to its VM and
// logs any other alert. An alert for an unknown VM, or with Data that is
// not a number, is logged and ignored instead of failing the session.
func (h hooks) AlertReceived(ctx context.Context, q store.Queries, deviceID string, a dmsession.Alert) error {
	s := h.s
	name := vmFromURI(a.Source)
	if name == "" {
		name = vmFromURI(a.Target)
	}
	if name == "" || (a.Type != AlertUserUnlock && a.Type != AlertStateChange) {
		s.logger.Info("alert ignored", "device", deviceID, "type", a.Type, "source", a.Source)
		return nil
	}
	v, err := q.GetVM(ctx, deviceID, name)
	if errors.Is(err, store.ErrNotFound) {
		s.logger.Warn("alert for unknown VM ignored", "device", deviceID, "vm", name, "type", a.Type)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get VM %s/%s: %w", deviceID, name, err)
	}

	code, err := strconv.Atoi(strings.TrimSpace(a.Data))
	if err != nil {
		s.logger.Warn("alert with invalid data ignored", "device", deviceID, "vm", name,
			"type", a.Type, "data", a.Data)
		return nil
	}
	if a.Type == AlertStateChange {
		return s.stateChanged(ctx, q, v, code, a.Mark == "critical")
	}
	return s.userUnlocked(ctx, q, v, code, a.Mark == "critical")
}

func (s *Server) stateChanged(ctx context.Context, q store.Queries, v store.VM, code int, tamper bool) error {
	v.State = stateName(code)
	v.UpdatedAt = s.nowUTC()
	if err := q.PutVM(ctx, v); err != nil {
		return fmt.Errorf("update VM %s/%s: %w", v.DeviceID, v.Name, err)
	}
	if !tamper {
		s.logger.Info("VM state changed", "device", v.DeviceID, "vm", v.Name, "state", v.State)
		return nil
	}
	s.logger.Warn("VM tamper reported", "device", v.DeviceID, "vm", v.Name, "state", v.State)
	return s.audit(ctx, q, "device:"+v.DeviceID, "vm.tamper", v.DeviceID+"/"+v.Name,
		"state="+v.State)
}

// userUnlocked applies a UserUnlock alert: 1200 unlocks the VM, destroys
// its secrets and completes a pending unlock intent; 1404 marked critical
// records that the user ran out of attempts.
func (s *Server) userUnlocked(ctx context.Context, q store.Queries, v store.VM, code int, critical bool) error {
	target := v.DeviceID + "/" + v.Name
	actor := "device:" + v.DeviceID
	if code != ResultSuccess {
		errText := "user unlock failed: device returned " + describeStatus(code)
		action := "vm.user_unlock_failed"
		if code == ResultUnlockFailed && critical {
			errText = "user unlock attempts exhausted"
			action = "vm.user_unlock_exhausted"
		}
		s.logger.Warn("user unlock failed", "device", v.DeviceID, "vm", v.Name, "result", code)
		if err := s.setLockState(ctx, q, v, v.LockState, errText); err != nil {
			return err
		}
		return s.audit(ctx, q, actor, action, target, fmt.Sprintf("result=%d", code))
	}

	pending, found, err := pendingLockIntent(ctx, q, v.DeviceID, v.Name)
	if err != nil {
		return err
	}
	state := store.LockUnlocked
	if found && pending.Kind == "lock" {
		// A new lock is queued behind the user's unlock and will lock again.
		state = store.LockPending
	}
	if found && pending.Kind == "unlock" {
		if err := s.finishIntent(ctx, q, pending, store.IntentDone, ""); err != nil {
			return err
		}
		if _, err := s.cancelCommands(ctx, q, pending, "VM unlocked by the user"); err != nil {
			return err
		}
	}

	v.UserUnlock = false
	if err := s.setLockState(ctx, q, v, state, ""); err != nil {
		return err
	}
	keep := ""
	if found && pending.Kind == "lock" {
		keep = pending.SecretID
	}
	if err := s.destroySecrets(ctx, q, v.DeviceID, v.Name, keep); err != nil {
		return err
	}
	s.logger.Info("VM unlocked by the user", "device", v.DeviceID, "vm", v.Name)
	return s.audit(ctx, q, actor, "vm.user_unlock", target,
		fmt.Sprintf("lock_generation=%d", v.LockGeneration))
}

// InventoryObserved stores the VMs a session read back. The observed lock
// state wins unless a lock or unlock intent is pending; VMs the device no
// longer has are deleted, with their pending intents failed and their
// secrets destroyed.
func (h hooks) InventoryObserved(ctx context.Context, q store.Queries, deviceID string, vms []dmsession.ObservedVM) error {
	s := h.s
	seen := make(map[string]bool, len(vms))
	for _, o := range vms {
		if o.Name == "" || seen[o.Name] {
			continue
		}
		seen[o.Name] = true
		if err := s.observeVM(ctx, q, deviceID, o); err != nil {
			return err
		}
	}

	known, err := q.ListVMs(ctx, deviceID)
	if err != nil {
		return fmt.Errorf("list VMs of %s: %w", deviceID, err)
	}
	for _, v := range known {
		if seen[v.Name] {
			continue
		}
		if err := s.removeVM(ctx, q, v); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) observeVM(ctx context.Context, q store.Queries, deviceID string, o dmsession.ObservedVM) error {
	v, err := q.GetVM(ctx, deviceID, o.Name)
	isNew := errors.Is(err, store.ErrNotFound)
	if isNew {
		v = store.VM{DeviceID: deviceID, Name: o.Name, State: "unknown", LockState: store.LockUnlocked}
		if o.LockState == 1 {
			v.LockState = store.LockLocked
		}
	} else if err != nil {
		return fmt.Errorf("get VM %s/%s: %w", deviceID, o.Name, err)
	}

	if o.VMID != "" {
		v.VMID = o.VMID
	}
	if o.State >= 0 {
		v.State = stateName(o.State)
	}
	v.UserUnlock = o.UserUnlock
	v.LockGeneration = o.LockGeneration
	v.UpdatedAt = s.nowUTC()

	_, pending, err := pendingLockIntent(ctx, q, deviceID, o.Name)
	if err != nil {
		return err
	}
	observed := ""
	switch o.LockState {
	case 0:
		observed = store.LockUnlocked
	case 1:
		observed = store.LockLocked
	}
	if pending || observed == "" || observed == v.LockState {
		if err := q.PutVM(ctx, v); err != nil {
			return fmt.Errorf("update VM %s/%s: %w", deviceID, o.Name, err)
		}
		return nil
	}

	// The device changed its lock state outside a server intent (a LAWMO
	// lock, or a user unlock whose alert has not arrived yet).
	previous := v.LockState
	v.LockState = observed
	v.LockError = ""
	if err := q.PutVM(ctx, v); err != nil {
		return fmt.Errorf("update VM %s/%s: %w", deviceID, o.Name, err)
	}
	if observed == store.LockUnlocked {
		if err := s.destroySecrets(ctx, q, deviceID, o.Name, ""); err != nil {
			return err
		}
	}
	s.logger.Info("VM lock state observed", "device", deviceID, "vm", o.Name,
		"from", previous, "to", observed)
	return s.audit(ctx, q, "device:"+deviceID, "vm.lock_state_observed", deviceID+"/"+o.Name,
		fmt.Sprintf("from=%s to=%s", previous, observed))
}

func (s *Server) removeVM(ctx context.Context, q store.Queries, v store.VM) error {
	pending, err := q.ListIntents(ctx, v.DeviceID, v.Name, store.IntentPending)
	if err != nil {
		return fmt.Errorf("list intents of %s/%s: %w", v.DeviceID, v.Name, err)
	}
	for _, in := range pending {
		if err := s.finishIntent(ctx, q, in, store.IntentFailed, "VM no longer on the device"); err != nil {
			return err
		}
	}
	if err := s.destroySecrets(ctx, q, v.DeviceID, v.Name, ""); err != nil {
		return err
	}
	if err := q.DeleteVM(ctx, v.DeviceID, v.Name); err != nil {
		return fmt.Errorf("delete VM %s/%s: %w", v.DeviceID, v.Name, err)
	}
	s.logger.Info("VM removed from inventory", "device", v.DeviceID, "vm", v.Name)
	return nil
}
