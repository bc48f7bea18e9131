package dmsession

import (
	"context"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
)

// NotifyHooks is implemented by Hooks of a server that wakes devices with
// Package #0 notifications. The engine calls it when Config.Hooks
// implements it, and other Hooks work unchanged.
type NotifyHooks interface {
	// NotifiedSession reports whether sessionID is the session id of a
	// notification that the device has not yet responded to by opening a
	// session.
	NotifiedSession(ctx context.Context, q store.Queries, deviceID, sessionID string) (bool, error)
	// SessionOpened reports an authenticated session start (Alert 1200 or
	// 1201), which settles any pending notification.
	SessionOpened(ctx context.Context, q store.Queries, deviceID, sessionID string) error
}

// restartsNotified reports whether this message starts the notified
// session of a pending notification over stored state that an old session
// with the same SessionID left. The device takes the SessionID from the
// trigger, so without the restart an old row would make its MsgID 1 a
// duplicate. State from a challenge of this same session (no message
// handled while authenticated) is kept.
func (t *turn) restartsNotified(st *sessionState) (bool, error) {
	hooks, ok := t.e.cfg.Hooks.(NotifyHooks)
	if !ok || st == nil || st.Ended || len(st.HandledMsgIDs) == 0 || !t.hasAlert(syncml.AlertServerInitiated) {
		return false, nil
	}
	return hooks.NotifiedSession(t.ctx, t.q, t.device.ID, t.in.Header.SessionID)
}

// hasAlert reports whether the message carries an Alert with code.
func (t *turn) hasAlert(code int) bool {
	for i := range t.in.Body.Commands {
		c := &t.in.Body.Commands[i]
		if c.Name != syncml.CmdAlert {
			continue
		}
		if got, err := c.AlertCode(); err == nil && got == code {
			return true
		}
	}
	return false
}

// sessionOpened answers the session Alert (1200 or 1201) of an
// authenticated message and tells NotifyHooks that the session started.
func (t *turn) sessionOpened() (int, error) {
	if hooks, ok := t.e.cfg.Hooks.(NotifyHooks); ok {
		if err := hooks.SessionOpened(t.ctx, t.q, t.device.ID, t.in.Header.SessionID); err != nil {
			return 0, err
		}
	}
	return syncml.StatusOK, nil
}
