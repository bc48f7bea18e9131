package notify

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/virmo/virmo/notification"
	"github.com/virmo/virmo/store"
)

// pendingTTL is how long a pending notification is delivered again. A
// wake-up after that gets a new session id.
const pendingTTL = 10 * time.Minute

// sessionIDTries bounds the random draws of a session id that no stored
// session of the device uses.
const sessionIDTries = 8

// pending is the notification a device has not answered with a session
// yet, stored as a setting so every replica sees it.
type pending struct {
	SessionID uint16    `json:"session"`
	CreatedAt time.Time `json:"created_at"`
	// Sends counts deliveries; SentAt is the time of the last one.
	Sends  int       `json:"sends"`
	SentAt time.Time `json:"sent_at,omitzero"`
}

func pendingKey(deviceID string) string { return "notify.pending/" + deviceID }

// loadPending returns the pending notification of a device; ok is false
// when there is none. A row that does not decode counts as none.
func loadPending(ctx context.Context, q store.Queries, deviceID string) (p pending, ok bool, err error) {
	data, err := q.GetSetting(ctx, pendingKey(deviceID))
	if errors.Is(err, store.ErrNotFound) || (err == nil && len(data) == 0) {
		return pending{}, false, nil
	}
	if err != nil {
		return pending{}, false, fmt.Errorf("load pending notification of %s: %w", deviceID, err)
	}
	if json.Unmarshal(data, &p) != nil {
		return pending{}, false, nil
	}
	return p, true, nil
}

func storePending(ctx context.Context, q store.Queries, deviceID string, p pending) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode pending notification: %w", err)
	}
	if err := q.PutSetting(ctx, pendingKey(deviceID), data); err != nil {
		return fmt.Errorf("store pending notification of %s: %w", deviceID, err)
	}
	return nil
}

// clearPending removes the pending notification of a device. The store has
// no delete for settings, so an empty value means none.
func clearPending(ctx context.Context, q store.Queries, deviceID string) error {
	if err := q.PutSetting(ctx, pendingKey(deviceID), nil); err != nil {
		return fmt.Errorf("clear pending notification of %s: %w", deviceID, err)
	}
	return nil
}

// newSessionID draws a random session id that no stored session of the
// device uses, so the notified session never continues an old one. After
// sessionIDTries draws it returns the last one.
func newSessionID(ctx context.Context, q store.Queries, deviceID string) (uint16, error) {
	var id uint16
	for range sessionIDTries {
		var b [2]byte
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("draw notification session id: %w", err)
		}
		id = binary.BigEndian.Uint16(b[:])
		_, err := q.GetSession(ctx, deviceID, notification.SessionIDString(id))
		if errors.Is(err, store.ErrNotFound) {
			return id, nil
		}
		if err != nil {
			return 0, fmt.Errorf("look up session of %s: %w", deviceID, err)
		}
	}
	return id, nil
}
