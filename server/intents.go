package server

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/server/dmsession"
	"github.com/virmo/virmo/store"
)

// pendingLockIntent returns the newest pending lock or unlock intent of a
// VM. There is at most one, because each new one supersedes the last.
func pendingLockIntent(ctx context.Context, q store.Queries, device, vm string) (store.Intent, bool, error) {
	pending, err := q.ListIntents(ctx, device, vm, store.IntentPending)
	if err != nil {
		return store.Intent{}, false, fmt.Errorf("list intents of %s/%s: %w", device, vm, err)
	}
	for _, in := range pending {
		if in.Kind == "lock" || in.Kind == "unlock" {
			return in, true, nil
		}
	}
	return store.Intent{}, false, nil
}

// createIntent stores a new pending intent; secretID is empty unless the
// intent is a lock with user unlock.
func (s *Server) createIntent(ctx context.Context, q store.Queries, id, device, vm, kind string,
	params intentParams, secretID string) (store.Intent, error) {
	data, err := json.Marshal(params)
	if err != nil {
		return store.Intent{}, fmt.Errorf("encode intent params: %w", err)
	}
	now := s.nowUTC()
	in := store.Intent{
		ID:        id,
		DeviceID:  device,
		VM:        vm,
		Kind:      kind,
		State:     store.IntentPending,
		Params:    data,
		SecretID:  secretID,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := q.CreateIntent(ctx, in); err != nil {
		return store.Intent{}, fmt.Errorf("create intent %s: %w", id, err)
	}
	return in, nil
}

// supersede marks a pending intent superseded by the intent byID and
// cancels its commands the device has not been sent yet. The secret of a
// superseded lock is destroyed when none of its commands was sent.
func (s *Server) supersede(ctx context.Context, q store.Queries, old store.Intent, byID string) error {
	sent, err := s.cancelCommands(ctx, q, old, "intent superseded by "+byID)
	if err != nil {
		return err
	}

	old.State = store.IntentSuperseded
	old.Error = "superseded by intent " + byID
	old.UpdatedAt = s.nowUTC()
	if err := q.UpdateIntent(ctx, old); err != nil {
		return fmt.Errorf("supersede intent %s: %w", old.ID, err)
	}
	if old.SecretID != "" && !sent {
		if err := q.DestroySecret(ctx, old.SecretID, s.nowUTC()); err != nil {
			return fmt.Errorf("destroy secret of intent %s: %w", old.ID, err)
		}
	}
	return nil
}

// cancelCommands cancels the pending commands of an intent and reports
// whether any of its commands had already been sent.
func (s *Server) cancelCommands(ctx context.Context, q store.Queries, in store.Intent, reason string) (bool, error) {
	cmds, err := q.ListCommands(ctx, in.DeviceID, 0)
	if err != nil {
		return false, fmt.Errorf("list commands of %s: %w", in.DeviceID, err)
	}

	sent := false
	for _, c := range cmds {
		if c.IntentID != in.ID {
			continue
		}
		if c.State != store.CommandPending {
			sent = true
			continue
		}
		c.State = store.CommandCancelled
		c.Error = "cancelled: " + reason
		c.UpdatedAt = s.nowUTC()
		if err := q.UpdateCommand(ctx, c); err != nil {
			return false, fmt.Errorf("cancel command %d of %s: %w", c.Seq, in.DeviceID, err)
		}
	}
	return sent, nil
}

// finishIntent sets the final state of an intent and cancels its
// commands still pending.
func (s *Server) finishIntent(ctx context.Context, q store.Queries, in store.Intent, state, errText string) error {
	if state != store.IntentDone {
		if _, err := s.cancelCommands(ctx, q, in, "intent "+state); err != nil {
			return err
		}
	}
	in.State = state
	in.Error = errText
	in.UpdatedAt = s.nowUTC()
	if err := q.UpdateIntent(ctx, in); err != nil {
		return fmt.Errorf("update intent %s: %w", in.ID, err)
	}
	return nil
}

func (s *Server) setLockState(ctx context.Context, q store.Queries, v store.VM, state, errText string) error {
	v.LockState = state
	v.LockError = errText
	v.UpdatedAt = s.nowUTC()
	if err := q.PutVM(ctx, v); err != nil {
		return fmt.Errorf("update VM %s/%s: %w", v.DeviceID, v.Name, err)
	}
	return nil
}

// Operation queues start, stop, pause or resume of a VM. Start and resume
// of a locked VM (or one with a lock pending) are rejected with 409.
func (s *Server) Operation(ctx context.Context, device, vm, op string) (api.IntentResponse, error) {
	switch op {
	case "start", "stop", "pause", "resume":
	default:
		return api.IntentResponse{}, badRequest("invalid operation %q: use start, stop, pause "+
			"or resume", op)
	}
	intentID, err := randomID("int-", 8)
	if err != nil {
		return api.IntentResponse{}, err
	}

	var intent store.Intent
	err = s.store.InTx(ctx, func(q store.Queries) error {
		v, err := s.loadVM(ctx, q, device, vm)
		if err != nil {
			return err
		}
		locked := v.LockState == store.LockLocked || v.LockState == store.LockPending
		if (op == "start" || op == "resume") && locked {
			return conflict("VM %s on device %s is %s; unlock it first with "+
				"`virmo vm unlock %s/%s` (POST /api/v1/devices/%s/vms/%s/unlock), then %s it",
				vm, device, v.LockState, device, vm, device, vm, op)
		}

		intent, err = s.createIntent(ctx, q, intentID, device, vm, op, intentParams{}, "")
		if err != nil {
			return err
		}
		_, err = s.enqueueExec(ctx, q, intent, 0, func(c string) dmsession.Payload {
			return dmsession.Payload{Command: execTemplate(vm, op, c)}
		})
		if err != nil {
			return err
		}
		return s.audit(ctx, q, actorAdmin, "vm."+op, device+"/"+vm, "intent="+intent.ID)
	})
	if err != nil {
		return api.IntentResponse{}, err
	}

	s.wake(device)
	s.logger.Info("operation requested", "device", device, "vm", vm, "op", op, "intent", intent.ID)
	return api.IntentResponse{Intent: toAPIIntent(intent)}, nil
}
