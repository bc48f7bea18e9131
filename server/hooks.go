package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/virmo/virmo/server/dmsession"
	"github.com/virmo/virmo/store"
)

// Generic Alert types of VirMO (docs/wire.md).
const (
	AlertOperationComplete = "urn:oma:at:virmo:1.0:OperationComplete"
	AlertUserUnlock        = "urn:oma:at:virmo:1.0:UserUnlock"
	AlertStateChange       = "urn:oma:at:virmo:1.0:StateChange"
)

// Result codes of VirMO operations carried in Generic Alert Data.
const (
	ResultSuccess      = 1200
	ResultUnlockFailed = 1404
)

var resultNames = map[int]string{
	1200: "success",
	1400: "client error",
	1401: "user cancelled",
	1402: "lock failed",
	1404: "unlock failed",
	1405: "wipe failed",
	1408: "remove failed",
	1409: "start failed",
	1410: "stop or pause failed",
	1411: "not implemented",
	1413: "rejected",
}

// describeStatus names an OMA DM status or VirMO result code for an error
// message.
func describeStatus(code int) string {
	if name, ok := resultNames[code]; ok {
		return fmt.Sprintf("%d (%s)", code, name)
	}
	if code == 0 {
		return "no status (the command was not answered)"
	}
	return "status " + strconv.Itoa(code)
}

// stateName maps a VirMO/<x>/State value to the API's run state.
func stateName(code int) string {
	switch code {
	case 10:
		return "stopped"
	case 20:
		return "running"
	case 30:
		return "paused"
	case 50:
		return "failed"
	}
	return "unknown"
}

// hooks implements dmsession.Hooks for a Server.
type hooks struct {
	s *Server
}

// Hooks returns the hooks through which the DM session engine reports
// what devices observed. New already gives them to the engine.
func (s *Server) Hooks() dmsession.Hooks {
	return hooks{s: s}
}

// UnlockAuth opens a sealed secret and returns its AuthData and
// SHA-256(secret ‖ AuthData). Neither ever reaches a log or an error.
func (h hooks) UnlockAuth(ctx context.Context, secretID string) ([]byte, []byte, error) {
	sec, err := h.s.store.GetSecret(ctx, secretID)
	if err != nil {
		return nil, nil, fmt.Errorf("get secret %s: %w", secretID, err)
	}
	secret, authData, err := h.s.openSecret(sec)
	if err != nil {
		return nil, nil, err
	}
	digest := sha256.Sum256(append([]byte(secret), authData...))
	return authData, digest[:], nil
}

// CommandAnswered moves the command's intent and VM along the state
// machine. A command done without an Exec is one step of its intent. The
// command with the Exec completes the intent when it is done: Status 200
// of a synchronous Exec, or result 1200 of its OperationComplete alert.
// A failed or cancelled command fails the intent.
func (h hooks) CommandAnswered(ctx context.Context, q store.Queries, cmd store.Command, status int, _ string) error {
	s := h.s
	if cmd.IntentID == "" {
		return nil
	}
	in, err := q.GetIntent(ctx, cmd.IntentID)
	if errors.Is(err, store.ErrNotFound) {
		s.logger.Warn("command answered for unknown intent", "device", cmd.DeviceID,
			"cmd", cmd.Seq, "intent", cmd.IntentID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get intent %s: %w", cmd.IntentID, err)
	}
	if in.State != store.IntentPending {
		s.logger.Info("command answered for finished intent", "device", cmd.DeviceID,
			"cmd", cmd.Seq, "intent", in.ID, "intent_state", in.State, "status", status)
		return nil
	}

	exec := payloadExec(cmd.Payload)
	switch cmd.State {
	case store.CommandDone:
		if exec {
			return s.intentSucceeded(ctx, q, in)
		}
		return nil
	case store.CommandFailed, store.CommandCancelled:
		return s.intentFailed(ctx, q, in, status, cmd.Error)
	}

	// The engine reports only final results. Classify any other by status.
	switch {
	case status == 202:
		return nil
	case exec && status >= 1200 && status <= 1299:
		return s.intentSucceeded(ctx, q, in)
	case status >= 200 && status <= 299, payloadAccepts(cmd.Payload, status):
		if exec {
			return s.intentSucceeded(ctx, q, in)
		}
		return nil
	}
	return s.intentFailed(ctx, q, in, status, cmd.Error)
}

func (s *Server) intentSucceeded(ctx context.Context, q store.Queries, in store.Intent) error {
	if err := s.finishIntent(ctx, q, in, store.IntentDone, ""); err != nil {
		return err
	}
	s.logger.Info("intent done", "device", in.DeviceID, "vm", in.VM, "intent", in.ID, "kind", in.Kind)

	v, err := q.GetVM(ctx, in.DeviceID, in.VM)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get VM %s/%s: %w", in.DeviceID, in.VM, err)
	}

	target := in.DeviceID + "/" + in.VM
	actor := "device:" + in.DeviceID
	switch in.Kind {
	case "lock":
		v.UserUnlock = decodeParams(in).UserUnlock
		// Operations/Lock is a full lock, which pauses a running VM. The
		// next inventory read confirms the run state.
		if v.State == "running" {
			v.State = "paused"
		}
		// The agent increments Ext/LockGeneration on every lock it
		// carries out, and OperationComplete does not carry the value, so
		// follow it here. The next inventory read stores the device's own
		// value over this one.
		v.LockGeneration++
		if err := s.setLockState(ctx, q, v, store.LockLocked, ""); err != nil {
			return err
		}
		if err := s.destroySecrets(ctx, q, in.DeviceID, in.VM, in.SecretID); err != nil {
			return err
		}
		return s.audit(ctx, q, actor, "vm.locked", target, "intent="+in.ID)
	case "unlock":
		v.UserUnlock = false
		if err := s.setLockState(ctx, q, v, store.LockUnlocked, ""); err != nil {
			return err
		}
		if err := s.destroySecrets(ctx, q, in.DeviceID, in.VM, ""); err != nil {
			return err
		}
		return s.audit(ctx, q, actor, "vm.unlocked", target, "intent="+in.ID)
	case "start", "resume":
		v.State = "running"
	case "stop":
		v.State = "stopped"
	case "pause":
		v.State = "paused"
	default:
		return nil
	}
	v.UpdatedAt = s.nowUTC()
	if err := q.PutVM(ctx, v); err != nil {
		return fmt.Errorf("update VM %s: %w", target, err)
	}
	return nil
}

// intentFailed fails an intent and records the error in LockError. A
// failed lock goes back to unlocked, or to locked when it re-provisioned a
// locked VM. A failed unlock goes back to locked.
func (s *Server) intentFailed(ctx context.Context, q store.Queries, in store.Intent, status int, reason string) error {
	errText := fmt.Sprintf("%s failed: device returned %s", in.Kind, describeStatus(status))
	if status == 0 && reason != "" {
		errText = fmt.Sprintf("%s failed: %s", in.Kind, reason)
	}
	if err := s.finishIntent(ctx, q, in, store.IntentFailed, errText); err != nil {
		return err
	}
	s.logger.Warn("intent failed", "device", in.DeviceID, "vm", in.VM, "intent", in.ID,
		"kind", in.Kind, "status", status)
	if in.Kind != "lock" && in.Kind != "unlock" {
		return nil
	}

	v, err := q.GetVM(ctx, in.DeviceID, in.VM)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get VM %s/%s: %w", in.DeviceID, in.VM, err)
	}
	prev := decodeParams(in).PrevLockState
	restore := store.LockUnlocked
	if in.Kind == "lock" && prev == store.LockLocked {
		restore = store.LockLocked
	}
	if in.Kind == "unlock" && prev != store.LockUnlocked {
		restore = store.LockLocked
	}
	if err := s.setLockState(ctx, q, v, restore, errText); err != nil {
		return err
	}
	if in.Kind == "lock" && restore == store.LockUnlocked && in.SecretID != "" {
		if err := s.destroySecrets(ctx, q, in.DeviceID, in.VM, ""); err != nil {
			return err
		}
	}
	detail := fmt.Sprintf("intent=%s status=%d", in.ID, status)
	return s.audit(ctx, q, "device:"+in.DeviceID, "vm."+in.Kind+"_failed",
		in.DeviceID+"/"+in.VM, detail)
}

// destroySecrets destroys every live secret of a VM's lock intents but
// the one with ID keep.
func (s *Server) destroySecrets(ctx context.Context, q store.Queries, device, vm, keep string) error {
	intents, err := q.ListIntents(ctx, device, vm, "")
	if err != nil {
		return fmt.Errorf("list intents of %s/%s: %w", device, vm, err)
	}
	for _, in := range intents {
		if in.SecretID == "" || in.SecretID == keep {
			continue
		}
		sec, err := q.GetSecret(ctx, in.SecretID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("get secret %s: %w", in.SecretID, err)
		}
		if !sec.DestroyedAt.IsZero() {
			continue
		}
		if err := q.DestroySecret(ctx, sec.ID, s.nowUTC()); err != nil {
			return fmt.Errorf("destroy secret %s: %w", sec.ID, err)
		}
	}
	return nil
}

// vmFromURI returns <x> of ./VirMO/<x>/..., or "".
func vmFromURI(uri string) string {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(uri, "./"), "VirMO/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}
