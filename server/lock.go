package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/server/dmsession"
	"github.com/virmo/virmo/store"
)

// Lengths of an operator-supplied unlock secret, in bytes.
const (
	minSecretBytes = 4
	maxSecretBytes = 128
	authDataBytes  = 16
)

// intentParams is the JSON of store.Intent.Params. It never holds a
// secret.
type intentParams struct {
	UserUnlock     bool `json:"user_unlock,omitempty"`
	OperatorSecret bool `json:"operator_secret,omitempty"`
	// PrevLockState is the VM's lock state before the intent; a failed
	// lock or unlock goes back to it.
	PrevLockState string `json:"prev_lock_state,omitempty"`
}

func decodeParams(in store.Intent) intentParams {
	var p intentParams
	if len(in.Params) > 0 {
		// A row this package did not write decodes to the zero params.
		_ = json.Unmarshal(in.Params, &p)
	}
	return p
}

// Lock queues a lock of a VM (see docs/wire.md for the commands). With
// UserUnlock it generates a secret unless req.Secret is set, and returns
// it: only the request that creates the lock gets it. A repeated request
// for the same lock returns the pending intent without the secret, which
// an admin can reveal. A different request, or an unlock, supersedes the
// pending intent.
func (s *Server) Lock(ctx context.Context, device, vm string, req api.LockRequest) (api.LockResponse, error) {
	if err := validateLockRequest(req); err != nil {
		return api.LockResponse{}, err
	}
	params := intentParams{UserUnlock: req.UserUnlock, OperatorSecret: req.Secret != ""}

	secret := req.Secret
	var sealed []byte
	if req.UserUnlock {
		var err error
		if secret == "" {
			if secret, err = generateSecret(); err != nil {
				return api.LockResponse{}, err
			}
		}
		if sealed, err = s.sealSecret(secret); err != nil {
			return api.LockResponse{}, err
		}
	}
	intentID, err := randomID("int-", 8)
	if err != nil {
		return api.LockResponse{}, err
	}
	secretID, err := randomID("sec-", 8)
	if err != nil {
		return api.LockResponse{}, err
	}

	var intent store.Intent
	repeated := false
	err = s.store.InTx(ctx, func(q store.Queries) error {
		v, pending, found, err := s.loadVMAndPendingIntent(ctx, q, device, vm)
		if err != nil {
			return err
		}

		target := device + "/" + vm
		if found && pending.Kind == "lock" && decodeParams(pending).UserUnlock == req.UserUnlock &&
			req.Secret == "" {
			intent, repeated = pending, true
			return s.auditRepeated(ctx, q, "vm.lock", target, pending)
		}

		params.PrevLockState = v.LockState
		if found {
			params.PrevLockState = decodeParams(pending).PrevLockState
			if err := s.supersede(ctx, q, pending, intentID); err != nil {
				return err
			}
		}

		intentSecret := ""
		if req.UserUnlock {
			intentSecret = secretID
		}
		intent, err = s.createIntent(ctx, q, intentID, device, vm, "lock", params, intentSecret)
		if err != nil {
			return err
		}
		if err := s.queueLock(ctx, q, intent, req.UserUnlock, secretID, sealed); err != nil {
			return err
		}
		if err := s.setLockState(ctx, q, v, store.LockPending, ""); err != nil {
			return err
		}
		return s.audit(ctx, q, actorAdmin, "vm.lock", target, fmt.Sprintf(
			"intent=%s user_unlock=%t operator_secret=%t", intent.ID, req.UserUnlock, req.Secret != ""))
	})
	if err != nil {
		return api.LockResponse{}, err
	}

	s.wake(device)
	s.logger.Info("lock requested", "device", device, "vm", vm, "intent", intent.ID,
		"user_unlock", req.UserUnlock, "repeated", repeated)
	resp := api.LockResponse{Intent: toAPIIntent(intent)}
	if req.UserUnlock && !repeated {
		resp.Secret = secret
	}
	return resp, nil
}

// queueLock stores the sealed secret and queues the commands of a lock.
func (s *Server) queueLock(ctx context.Context, q store.Queries, in store.Intent,
	userUnlock bool, secretID string, sealed []byte) error {
	var next int64
	if userUnlock {
		err := q.PutSecret(ctx, store.Secret{
			ID:        secretID,
			DeviceID:  in.DeviceID,
			VM:        in.VM,
			Sealed:    sealed,
			CreatedAt: s.nowUTC(),
		})
		if err != nil {
			return fmt.Errorf("store secret of intent %s: %w", in.ID, err)
		}
		add, err := s.enqueue(ctx, q, in, addUnlockAuthPayload(in.VM))
		if err != nil {
			return err
		}
		next = add.Seq + 1
	}

	_, err := s.enqueueExec(ctx, q, in, next, func(c string) dmsession.Payload {
		return lockPayload(in.VM, userUnlock, secretID, c)
	})
	return err
}

// queueUnlock queues the commands of a server unlock: the Exec, then
// clearing the user unlock so the device keeps no digest of a secret the
// server destroys once the unlock is done.
func (s *Server) queueUnlock(ctx context.Context, q store.Queries, in store.Intent) error {
	_, err := s.enqueueExec(ctx, q, in, 0, func(c string) dmsession.Payload {
		return unlockPayload(in.VM, c)
	})
	if err != nil {
		return err
	}
	_, err = s.enqueue(ctx, q, in, deleteUnlockAuthPayload(in.VM))
	return err
}

// Unlock queues an unlock of a VM. A repeated request returns the pending
// unlock intent, and an unlock supersedes a pending lock. An unlock of a
// VM the server records as unlocked, with nothing pending, is a conflict.
func (s *Server) Unlock(ctx context.Context, device, vm string) (api.IntentResponse, error) {
	intentID, err := randomID("int-", 8)
	if err != nil {
		return api.IntentResponse{}, err
	}

	var intent store.Intent
	repeated := false
	err = s.store.InTx(ctx, func(q store.Queries) error {
		v, pending, found, err := s.loadVMAndPendingIntent(ctx, q, device, vm)
		if err != nil {
			return err
		}

		target := device + "/" + vm
		if found && pending.Kind == "unlock" {
			intent, repeated = pending, true
			return s.auditRepeated(ctx, q, "vm.unlock", target, pending)
		}
		if !found && v.LockState == store.LockUnlocked {
			return conflict("VM %s on device %s is already unlocked; nothing to do "+
				"(`virmo vm list --device %s` shows its lock state)", vm, device, device)
		}

		params := intentParams{PrevLockState: v.LockState}
		if found {
			params.PrevLockState = decodeParams(pending).PrevLockState
			if err := s.supersede(ctx, q, pending, intentID); err != nil {
				return err
			}
		}

		intent, err = s.createIntent(ctx, q, intentID, device, vm, "unlock", params, "")
		if err != nil {
			return err
		}
		if err := s.queueUnlock(ctx, q, intent); err != nil {
			return err
		}
		if err := s.setLockState(ctx, q, v, store.LockUnlockPending, ""); err != nil {
			return err
		}
		return s.audit(ctx, q, actorAdmin, "vm.unlock", target, "intent="+intent.ID)
	})
	if err != nil {
		return api.IntentResponse{}, err
	}

	s.wake(device)
	s.logger.Info("unlock requested", "device", device, "vm", vm, "intent", intent.ID,
		"repeated", repeated)
	return api.IntentResponse{Intent: toAPIIntent(intent)}, nil
}

// validateLockRequest checks an operator secret without ever putting it
// in the error.
func validateLockRequest(req api.LockRequest) error {
	if req.Secret == "" {
		return nil
	}
	if !req.UserUnlock {
		return badRequest("secret given without user unlock; add `--user-unlock` " +
			"(\"user_unlock\": true), or leave out `--secret` (\"secret\")")
	}
	if !utf8.ValidString(req.Secret) || strings.ContainsRune(req.Secret, utf8.RuneError) {
		// encoding/json turns invalid bytes and lone surrogate escapes into
		// U+FFFD, so a decoded secret that contains it was not valid UTF-8.
		return badRequest("secret is not valid UTF-8; use a secret the user can type " +
			"(U+FFFD is rejected too, because JSON decoding puts it in place of invalid bytes)")
	}
	if i := strings.IndexFunc(req.Secret, unicode.IsControl); i >= 0 {
		return badRequest("secret contains a control character at byte %d; use printable "+
			"characters the user can type (spaces are allowed and kept)", i)
	}
	if n := len(req.Secret); n < minSecretBytes || n > maxSecretBytes {
		return badRequest("secret is %d bytes long; use %d to %d bytes, or leave out "+
			"`--secret` (\"secret\") to get a generated one", n, minSecretBytes, maxSecretBytes)
	}
	return nil
}

// sealSecret seals 16 random bytes of AuthData followed by the secret.
func (s *Server) sealSecret(secret string) ([]byte, error) {
	authData, err := randomBytes(authDataBytes)
	if err != nil {
		return nil, err
	}
	return s.sealer.Seal(append(authData, secret...))
}

// openSecret returns the secret and AuthData of a sealed secret.
func (s *Server) openSecret(sec store.Secret) (secret string, authData []byte, err error) {
	if !sec.DestroyedAt.IsZero() || len(sec.Sealed) == 0 {
		return "", nil, fmt.Errorf("secret %s was destroyed", sec.ID)
	}
	plain, err := s.sealer.Open(sec.Sealed)
	if err != nil {
		return "", nil, fmt.Errorf("open secret %s: %w", sec.ID, err)
	}
	if len(plain) < authDataBytes {
		return "", nil, fmt.Errorf("open secret %s: sealed value is too short", sec.ID)
	}
	return string(plain[authDataBytes:]), plain[:authDataBytes], nil
}

// loadVMAndPendingIntent loads vm of device and its pending lock or unlock
// intent, with found false when none is pending.
func (s *Server) loadVMAndPendingIntent(ctx context.Context, q store.Queries, device, vm string) (
	store.VM, store.Intent, bool, error) {
	v, err := s.loadVM(ctx, q, device, vm)
	if err != nil {
		return store.VM{}, store.Intent{}, false, err
	}
	pending, found, err := pendingLockIntent(ctx, q, device, vm)
	if err != nil {
		return store.VM{}, store.Intent{}, false, err
	}
	return v, pending, found, nil
}

// auditRepeated audits a request that repeats the pending intent, which
// the server returns in place of a new one.
func (s *Server) auditRepeated(ctx context.Context, q store.Queries, action, target string,
	pending store.Intent) error {
	return s.audit(ctx, q, actorAdmin, action, target,
		fmt.Sprintf("intent=%s repeated=true", pending.ID))
}

// loadVM returns a VM of a known device, or a 404 error that lists the
// device's VMs.
func (s *Server) loadVM(ctx context.Context, q store.Queries, device, vm string) (store.VM, error) {
	if _, err := q.GetDevice(ctx, device); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.VM{}, deviceNotFound(device)
		}
		return store.VM{}, fmt.Errorf("get device %s: %w", device, err)
	}

	v, err := q.GetVM(ctx, device, vm)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.VM{}, fmt.Errorf("get VM %s/%s: %w", device, vm, err)
	}
	vms, err := q.ListVMs(ctx, device)
	if err != nil {
		return store.VM{}, fmt.Errorf("list VMs of %s: %w", device, err)
	}
	if len(vms) == 0 {
		return store.VM{}, notFound("VM %q not found: device %s has reported no VMs yet; "+
			"wait for its next DM session, then check `virmo vm list --device %s` "+
			"(GET /api/v1/vms?device=%s)", vm, device, device, device)
	}
	names := make([]string, len(vms))
	for i, known := range vms {
		names[i] = known.Name
	}
	return store.VM{}, notFound("VM %q not found on device %s; known VMs: %s", vm, device,
		strings.Join(names, ", "))
}
