package dmsession

import (
	"context"
	"sync"

	"github.com/virmo/virmo/syncml"
)

// sessionLocks serialises the messages of one session (device LocURI and
// SessionID) within this process. A resend that arrives while the first
// copy is still being handled waits for it and then finds its stored reply,
// so nothing runs twice. Replicas rely on the store transaction and the
// stored reply instead.
type sessionLocks struct {
	mu    sync.Mutex
	locks map[sessionKey]*sessionLock
}

type sessionKey struct{ devID, sessionID string }

// sessionLock is one session's mutex and the number of requests that hold
// or wait for it; the entry is dropped when that number reaches zero.
type sessionLock struct {
	mu    sync.Mutex
	users int
}

func newSessionLocks() *sessionLocks {
	return &sessionLocks{locks: map[sessionKey]*sessionLock{}}
}

// lock blocks until the caller holds the session's mutex and returns the
// function that releases it.
func (l *sessionLocks) lock(devID, sessionID string) (unlock func()) {
	key := sessionKey{devID, sessionID}
	l.mu.Lock()
	sl := l.locks[key]
	if sl == nil {
		sl = &sessionLock{}
		l.locks[key] = sl
	}
	sl.users++
	l.mu.Unlock()

	sl.mu.Lock()
	return func() {
		sl.mu.Unlock()
		l.mu.Lock()
		sl.users--
		if sl.users == 0 {
			delete(l.locks, key)
		}
		l.mu.Unlock()
	}
}

// handleSerialised runs handle while holding the lock of the message's
// session.
func (e *Engine) handleSerialised(ctx context.Context, msg *syncml.Message, req request,
	encode func(*syncml.Message) ([]byte, error)) ([]byte, string, error) {
	unlock := e.locks.lock(msg.Header.Source.LocURI, msg.Header.SessionID)
	defer unlock()
	return e.handle(ctx, msg, req, encode)
}
