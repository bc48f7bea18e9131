package server

import (
	"context"
	"fmt"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/store"
)

// audit appends one audit entry through q. Detail never contains a
// secret, digest, nonce or password.
func (s *Server) audit(ctx context.Context, q store.Queries, actor, action, target, detail string) error {
	_, err := q.AppendAudit(ctx, store.AuditEntry{
		Time:   s.nowUTC(),
		Actor:  actor,
		Action: action,
		Target: target,
		Detail: detail,
	})
	if err != nil {
		return fmt.Errorf("append audit %s: %w", action, err)
	}
	return nil
}

func toAPIDevice(d store.Device) api.Device {
	devInfo := d.DevInfo
	if devInfo == nil {
		devInfo = map[string]string{}
	}
	return api.Device{
		ID:        d.ID,
		DevID:     d.DevID,
		Name:      d.Name,
		ServerID:  d.ServerID,
		CreatedAt: d.CreatedAt.UTC(),
		LastSeen:  d.LastSeen.UTC(),
		DevInfo:   devInfo,
	}
}

func toAPIVM(vm store.VM) api.VM {
	return api.VM{
		Device:         vm.DeviceID,
		VM:             vm.Name,
		VMID:           vm.VMID,
		State:          vm.State,
		LockState:      vm.LockState,
		LockError:      vm.LockError,
		LockGeneration: vm.LockGeneration,
		UserUnlock:     vm.UserUnlock,
		UpdatedAt:      vm.UpdatedAt.UTC(),
	}
}

func toAPIIntent(in store.Intent) api.Intent {
	return api.Intent{
		ID:        in.ID,
		Device:    in.DeviceID,
		VM:        in.VM,
		Kind:      in.Kind,
		State:     in.State,
		Error:     in.Error,
		CreatedAt: in.CreatedAt.UTC(),
		UpdatedAt: in.UpdatedAt.UTC(),
	}
}

func toAPICommand(c store.Command) api.Command {
	return api.Command{
		Seq:       c.Seq,
		Intent:    c.IntentID,
		Kind:      c.Kind,
		State:     string(c.State),
		Attempts:  c.Attempts,
		Status:    c.Status,
		Error:     c.Error,
		CreatedAt: c.CreatedAt.UTC(),
		UpdatedAt: c.UpdatedAt.UTC(),
	}
}

func toAPIAudit(e store.AuditEntry) api.AuditEntry {
	return api.AuditEntry{
		Seq:    e.Seq,
		Time:   e.Time.UTC(),
		Actor:  e.Actor,
		Action: e.Action,
		Target: e.Target,
		Detail: e.Detail,
	}
}
