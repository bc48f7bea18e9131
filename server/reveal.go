package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/store"
)

const maxReasonBytes = 500

// RevealSecret returns the unlock secret of a VM's current lock and
// records the call with its reason (never the secret) in the audit log.
// The reason is trimmed of surrounding whitespace and must not be empty.
// The current lock is the newest pending or done lock intent whose secret
// still exists. A failed re-provisioning of a locked VM counts too. An
// unlocked VM, or a lock without user unlock, has no secret (404).
func (s *Server) RevealSecret(ctx context.Context, device, vm string, req api.RevealRequest) (api.RevealResponse, error) {
	req.Reason = strings.TrimSpace(req.Reason)
	if req.Reason == "" {
		return api.RevealResponse{}, badRequest("reason is missing; say why the secret is " +
			"needed, for example `--reason \"user locked out, ticket 1234\"` " +
			"({\"reason\":\"user locked out, ticket 1234\"})")
	}
	if err := checkPrintable("reason", req.Reason, maxReasonBytes); err != nil {
		return api.RevealResponse{}, err
	}

	var secret string
	err := s.store.InTx(ctx, func(q store.Queries) error {
		v, err := s.loadVM(ctx, q, device, vm)
		if err != nil {
			return err
		}
		if v.LockState == store.LockUnlocked {
			return notFound("VM %s on device %s is unlocked, so it has no unlock secret", vm, device)
		}
		sec, in, err := currentSecret(ctx, q, device, vm)
		if err != nil {
			return err
		}
		secret, _, err = s.openSecret(sec)
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("intent=%s reason=%q", in.ID, req.Reason)
		return s.audit(ctx, q, actorAdmin, "secret.reveal", device+"/"+vm, detail)
	})
	if err != nil {
		return api.RevealResponse{}, err
	}

	s.logger.Info("unlock secret revealed", "device", device, "vm", vm)
	return api.RevealResponse{Secret: secret}, nil
}

// currentSecret returns the live secret of the newest lock intent of a
// VM, or a 404 error.
func currentSecret(ctx context.Context, q store.Queries, device, vm string) (store.Secret, store.Intent, error) {
	intents, err := q.ListIntents(ctx, device, vm, "")
	if err != nil {
		return store.Secret{}, store.Intent{}, fmt.Errorf("list intents of %s/%s: %w", device, vm, err)
	}
	for _, in := range intents {
		if in.Kind != "lock" || in.State == store.IntentSuperseded || in.State == store.IntentCancelled {
			continue
		}
		sec, live, err := liveSecret(ctx, q, in.SecretID)
		if err != nil {
			return store.Secret{}, store.Intent{}, err
		}
		if live {
			return sec, in, nil
		}
		// A failed lock left the previous lock in force; look further back.
		if in.State != store.IntentFailed {
			break
		}
	}
	return store.Secret{}, store.Intent{}, notFound("VM %s on device %s has no unlock secret: "+
		"it was locked without user unlock, or the secret was destroyed", vm, device)
}

// liveSecret returns a secret that exists and was not destroyed.
func liveSecret(ctx context.Context, q store.Queries, id string) (store.Secret, bool, error) {
	if id == "" {
		return store.Secret{}, false, nil
	}
	sec, err := q.GetSecret(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Secret{}, false, nil
	}
	if err != nil {
		return store.Secret{}, false, fmt.Errorf("get secret %s: %w", id, err)
	}
	return sec, sec.DestroyedAt.IsZero() && len(sec.Sealed) > 0, nil
}
