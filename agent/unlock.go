package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"

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
// the agent could not be reached. While the agent replies that it is busy,
// Unlock sends the request again until ctx's deadline, or for 30 s when
// ctx has none.
func Unlock(ctx context.Context, socketPath, vm string, secret []byte) error {
	return unlock.Unlock(ctx, socketPath, vm, secret)
}

// UnlockStatus returns the lock status of vm from the agent listening at
// socketPath. It never carries AuthData or AuthDigest. Errors are as for
// Unlock.
func UnlockStatus(ctx context.Context, socketPath, vm string) (LockStatus, error) {
	return unlock.GetStatus(ctx, socketPath, vm)
}

// listenUnlock creates the unlock socket, with the group of
// Config.SocketGroup if set.
func (a *Agent) listenUnlock() (*net.UnixListener, error) {
	path, group := a.cfg.SocketPath, a.cfg.SocketGroup
	ln, err := unlock.ListenGroup(path, group)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if group != "" {
		a.warnGroupCannotReach(path, group)
	}
	return ln, nil
}

// warnGroupCannotReach logs a warning when the directory of the unlock
// socket grants its group no search permission, so that the group's
// members cannot open the socket whatever its mode. It reads only the
// mode bits, not access control lists.
func (a *Agent) warnGroupCannotReach(path, group string) {
	dir := filepath.Dir(path)
	sock, errSock := os.Stat(path)
	parent, errDir := os.Stat(dir)
	if errSock != nil || errDir != nil {
		return
	}
	sockSys, sockOK := sock.Sys().(*syscall.Stat_t)
	dirSys, dirOK := parent.Sys().(*syscall.Stat_t)
	if !sockOK || !dirOK {
		return
	}
	mode := parent.Mode().Perm()
	if mode&0o001 != 0 || dirSys.Gid == sockSys.Gid && mode&0o010 != 0 {
		return
	}
	a.log.Warn("the socket group cannot reach the unlock socket, because its directory "+
		"grants the group no search permission; run chgrp and chmod g+x on the directory, "+
		"or set a socket path in another directory",
		"socket", path, "group", group, "dir", dir, "dir_mode", fmt.Sprintf("%04o", mode))
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
