package virmo

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"

	"github.com/virmo/virmo/dmtree"
)

// Codes of UnlockResult, also the "code" of the local unlock socket.
const (
	UnlockOK                = "ok"
	UnlockWrongSecret       = "wrong_secret"
	UnlockNotAllowed        = "not_allowed"
	UnlockAttemptsExhausted = "attempts_exhausted"
	UnlockNotLocked         = "not_locked"
	UnlockNoSuchVM          = "no_such_vm"
)

// UnlockResult is the outcome of a user unlock attempt.
type UnlockResult struct {
	// Code is one of the Unlock* codes.
	Code string
	// AttemptsLeft is the number of failed attempts still allowed before
	// the user unlock is rejected until the server re-provisions.
	AttemptsLeft int
}

// errNoChange ends a transaction that found nothing to change.
var errNoChange = errors.New("no change")

// UnlockDigest returns SHA-256(secret ‖ authData), the AuthDigest of
// AuthType 0.
func UnlockDigest(secret, authData []byte) []byte {
	h := sha256.New()
	h.Write(secret)
	h.Write(authData)
	return h.Sum(nil)
}

// UserUnlock unlocks the VM vm with the secret the user typed, taken as the
// exact bytes (so "0123" and "123" differ). It is allowed only while the VM
// is locked, UserUnlock is true, UnlockAuth is complete with AuthType 0 and
// Ext/UnlockAttempts is below Ext/MaxUnlockAttempts.
//
// A wrong secret increments Ext/UnlockAttempts in a committed transaction
// before UserUnlock returns. The attempt that reaches the limit also queues
// a UserUnlock alert with Data 1404 and Mark critical. A right secret
// unlocks the VM (resuming it if a full lock paused it), sets
// LockParams/State 0 and LAWMO State 30, resets the attempts, applies
// Ext/SingleUseUnlock (deleting UnlockAuth and setting UserUnlock false)
// and queues a UserUnlock alert with Data 1200, all in one transaction.
//
// The error is non-nil only when the tree or the hypervisor failed; the
// outcomes the user can act on are in UnlockResult.Code.
func (m *MO) UserUnlock(ctx context.Context, vm string, secret []byte) (UnlockResult, error) {
	if m.tree == nil {
		return UnlockResult{}, errNotAttached
	}

	var res UnlockResult
	err := m.tree.Update(func(tx *dmtree.Tx) error {
		v := vmTx{tx: tx, name: vm}
		res = m.checkUnlock(v)
		if res.Code != "" {
			return errNoChange
		}

		authData, err1 := v.value(pathAuthData)
		authDigest, err2 := v.value(pathAuthDigest)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		digest := UnlockDigest(secret, authData)
		if subtle.ConstantTimeCompare(digest, authDigest) != 1 {
			var err error
			res, err = m.failAttempt(v)
			return err
		}

		if err := m.setLock(ctx, v, LAWMOUnlocked); err != nil {
			return fmt.Errorf("unlock VM %s: %w", vm, err)
		}
		if err := m.applyUnlockSuccess(v); err != nil {
			return err
		}
		res = UnlockResult{Code: UnlockOK, AttemptsLeft: res.AttemptsLeft}
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	if err != nil {
		m.log.Error("user unlock failed", "vm", vm, "err", err)
		return UnlockResult{}, err
	}

	m.log.Info("user unlock attempt", "vm", vm, "code", res.Code,
		"attempts_left", res.AttemptsLeft)
	return res, nil
}

// checkUnlock returns a result with a Code when the user unlock cannot
// proceed, and otherwise the attempts left.
func (m *MO) checkUnlock(v vmTx) UnlockResult {
	if !v.exists("") {
		return UnlockResult{Code: UnlockNoSuchVM}
	}
	left := m.attemptsLeft(v)
	switch {
	case !v.locked():
		return UnlockResult{Code: UnlockNotLocked, AttemptsLeft: left}
	case !v.bool(pathUserUnlock) || !v.unlockAuthComplete():
		return UnlockResult{Code: UnlockNotAllowed, AttemptsLeft: left}
	case left <= 0:
		return UnlockResult{Code: UnlockAttemptsExhausted}
	}
	return UnlockResult{AttemptsLeft: left}
}

// attemptsLeft returns Ext/MaxUnlockAttempts minus Ext/UnlockAttempts, at
// least 0. A missing or invalid limit counts as DefaultMaxUnlockAttempts.
func (m *MO) attemptsLeft(v vmTx) int {
	limit, err := v.int(pathMaxUnlockAttempts)
	if err != nil || limit < 1 {
		limit = DefaultMaxUnlockAttempts
	}
	used, _ := v.int(pathUnlockAttempts)
	return max(limit-used, 0)
}

// failAttempt counts a failed attempt and, when it reaches the limit,
// queues the UserUnlock alert 1404 that reports the lockout to the server.
func (m *MO) failAttempt(v vmTx) (UnlockResult, error) {
	used, _ := v.int(pathUnlockAttempts)
	if err := v.putInt(pathUnlockAttempts, used+1); err != nil {
		return UnlockResult{}, err
	}

	left := m.attemptsLeft(v)
	if left == 0 {
		m.queueUserUnlock(v, ResultUnlockFailed, MarkCritical)
		m.log.Warn("user unlock attempts exhausted", "vm", v.name)
		return UnlockResult{Code: UnlockAttemptsExhausted}, nil
	}
	return UnlockResult{Code: UnlockWrongSecret, AttemptsLeft: left}, nil
}

// applyUnlockSuccess resets the attempts, applies SingleUseUnlock and
// queues the UserUnlock alert 1200.
func (m *MO) applyUnlockSuccess(v vmTx) error {
	if err := v.putInt(pathUnlockAttempts, 0); err != nil {
		return err
	}
	if !v.exists(pathSingleUseUnlock) || v.bool(pathSingleUseUnlock) {
		if err := v.tx.Delete(v.uri(pathUnlockAuth)); err != nil {
			return err
		}
		if err := v.putBool(pathUserUnlock, false); err != nil {
			return err
		}
	}
	m.queueUserUnlock(v, ResultOK, MarkInformational)
	return nil
}

func (m *MO) queueUserUnlock(v vmTx, result int, mark string) {
	v.tx.QueueAlert(dmtree.Alert{
		Type:   AlertUserUnlock,
		Format: string(dmtree.FormatInt),
		Mark:   mark,
		Source: v.locURI(pathLockParams),
		Target: v.locURI(""),
		Data:   strconv.Itoa(result),
	})
}

// UnlockStatus returns whether the VM is locked, whether the user may
// unlock it now (UserUnlock true and UnlockAuth complete with AuthType 0),
// and the failed attempts still allowed. It returns ErrNoSuchVM for a VM
// not in the tree. It never returns AuthData or AuthDigest.
func (m *MO) UnlockStatus(vm string) (locked, userUnlock bool, attemptsLeft int, err error) {
	if m.tree == nil {
		return false, false, 0, errNotAttached
	}
	err = m.tree.View(func(tx *dmtree.Tx) error {
		v := vmTx{tx: tx, name: vm}
		if !v.exists("") {
			return ErrNoSuchVM
		}
		locked = v.locked()
		userUnlock = v.bool(pathUserUnlock) && v.unlockAuthComplete()
		attemptsLeft = m.attemptsLeft(v)
		return nil
	})
	return locked, userUnlock, attemptsLeft, err
}
