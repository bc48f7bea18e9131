package server

import (
	"context"
	"time"

	"github.com/virmo/virmo/server/notify"
	"github.com/virmo/virmo/store"
)

// notifyTimeout bounds one wake-up of a device after a command is queued.
const notifyTimeout = 30 * time.Second

func (s *Server) newNotifier(cfg Config) error {
	n, err := notify.New(notify.Config{
		Store:      s.store,
		Sealer:     s.sealer,
		Waker:      cfg.Waker,
		ServerID:   s.serverID,
		Logger:     s.logger,
		Now:        s.now,
		Hold:       cfg.NotifyHold,
		UDPAllow:   cfg.NotifyUDPAllow,
		DisableUDP: cfg.DisableNotifyUDP,
	})
	if err != nil {
		return err
	}
	s.notifier = n
	return nil
}

// wake sends a Package #0 to a device whose queue got commands, without
// delaying the caller. A failure is logged: the device still gets the
// commands in its next polled session.
func (s *Server) wake(device string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		defer cancel()
		if err := s.notifier.Notify(ctx, device); err != nil {
			s.logger.Warn("notify device failed; it gets the commands at its next poll",
				"device", device, "err", err)
		}
	}()
}

// NotifiedSession implements dmsession.NotifyHooks.
func (h hooks) NotifiedSession(ctx context.Context, q store.Queries, deviceID, sessionID string) (bool, error) {
	return h.s.notifier.NotifiedSession(ctx, q, deviceID, sessionID)
}

// SessionOpened implements dmsession.NotifyHooks.
func (h hooks) SessionOpened(ctx context.Context, q store.Queries, deviceID, sessionID string) error {
	return h.s.notifier.SessionOpened(ctx, q, deviceID, sessionID)
}
