package agent

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/virmo/virmo/agent/unlock"
	"github.com/virmo/virmo/mo/virmo"
)

// UnlockError is a user unlock the agent rejected: Code is one of the
// unlock.Code* constants (wrong_secret, not_allowed, attempts_exhausted,
// not_locked, no_such_vm, or a protocol error), AttemptsLeft the wrong
// secrets still allowed.
type UnlockError = unlock.Error

// LockStatus is the lock status of one VM, as UnlockStatus returns it.
type LockStatus = unlock.Status

// Unlock sends the agent listening at socketPath a request to unlock vm
// with secret, the exact bytes the user typed. It returns nil on success, an
// *UnlockError when the agent rejected the request, and another error when
// the agent could not be reached.
func Unlock(ctx context.Context, socketPath, vm string, secret []byte) error {
	return unlock.Unlock(ctx, socketPath, vm, secret)
}

// UnlockStatus returns the lock status of vm from the agent listening at
// socketPath. It never carries AuthData or AuthDigest. Errors are as for
// Unlock.
func UnlockStatus(ctx context.Context, socketPath, vm string) (LockStatus, error) {
	return unlock.GetStatus(ctx, socketPath, vm)
}

// listenUnlock creates the unlock socket.
func listenUnlock(path string) (*net.UnixListener, error) {
	ln, err := unlock.Listen(path)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return ln, nil
}

// serveUnlock serves the unlock socket until ctx is done.
func (a *Agent) serveUnlock(ctx context.Context, ln net.Listener) error {
	return unlock.Serve(ctx, ln, unlockHandler{a.mo}, a.log.With("component", "unlock"))
}

// unlockHandler carries out unlock socket requests with the VirMO MO.
type unlockHandler struct {
	mo *virmo.MO
}

// unlockMessages are the user-facing messages of the unlock refusals.
var unlockMessages = map[string]string{
	virmo.UnlockWrongSecret: "the secret is wrong",
	virmo.UnlockNotAllowed: "user unlock is not enabled for this VM; " +
		"ask the operator to unlock it",
	virmo.UnlockAttemptsExhausted: "too many wrong secrets; user unlock is disabled " +
		"until the operator provisions a new secret",
	virmo.UnlockNotLocked: "the VM is not locked",
	virmo.UnlockNoSuchVM:  "no VM with this name on the device",
}

func (h unlockHandler) Unlock(ctx context.Context, vm string, secret []byte) error {
	res, err := h.mo.UserUnlock(ctx, vm, secret)
	if err != nil {
		return err
	}
	if res.Code == virmo.UnlockOK {
		return nil
	}
	msg, ok := unlockMessages[res.Code]
	if !ok {
		return fmt.Errorf("unknown user unlock result %q", res.Code)
	}
	return &unlock.Error{Code: res.Code, Message: msg, AttemptsLeft: res.AttemptsLeft}
}

func (h unlockHandler) Status(ctx context.Context, vm string) (unlock.Status, error) {
	locked, userUnlock, left, err := h.mo.UnlockStatus(vm)
	if errors.Is(err, virmo.ErrNoSuchVM) {
		return unlock.Status{}, &unlock.Error{Code: unlock.CodeNoSuchVM,
			Message: unlockMessages[virmo.UnlockNoSuchVM]}
	}
	if err != nil {
		return unlock.Status{}, err
	}
	return unlock.Status{Locked: locked, UserUnlock: userUnlock, AttemptsLeft: left}, nil
}
