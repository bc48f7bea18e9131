package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/virmo/virmo/store"
)

// PutSecret inserts s or overwrites the secret with the same ID.
func (q *queries) PutSecret(ctx context.Context, s store.Secret) error {
	_, err := q.exec(ctx, `INSERT INTO secrets
		(id, device_id, vm, sealed, created_at, destroyed_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET device_id = excluded.device_id, vm = excluded.vm,
			sealed = excluded.sealed, created_at = excluded.created_at,
			destroyed_at = excluded.destroyed_at`,
		s.ID, s.DeviceID, s.VM, s.Sealed, micros(s.CreatedAt), micros(s.DestroyedAt))
	if err != nil {
		return fmt.Errorf("put secret %s: %w", s.ID, err)
	}
	return nil
}

// GetSecret returns one secret, or store.ErrNotFound.
func (q *queries) GetSecret(ctx context.Context, id string) (store.Secret, error) {
	var (
		s                      store.Secret
		createdAt, destroyedAt sql.NullInt64
	)
	err := q.read.QueryRowContext(ctx, `SELECT id, device_id, vm, sealed, created_at,
		destroyed_at FROM secrets WHERE id = ?`, id).
		Scan(&s.ID, &s.DeviceID, &s.VM, &s.Sealed, &createdAt, &destroyedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Secret{}, fmt.Errorf("get secret %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Secret{}, fmt.Errorf("get secret %s: %w", id, err)
	}
	s.CreatedAt, s.DestroyedAt = timeOf(createdAt), timeOf(destroyedAt)
	return s, nil
}

// DestroySecret sets the sealed bytes of a secret to NULL and its
// DestroyedAt to at, or returns store.ErrNotFound.
//
// The writer runs with secure_delete on, so SQLite zeroes the old bytes in
// the database file. NOTE: the WAL file keeps a copy of the old page until
// the next checkpoint overwrites it.
func (q *queries) DestroySecret(ctx context.Context, id string, at time.Time) error {
	n, err := q.exec(ctx, `UPDATE secrets SET sealed = NULL, destroyed_at = ? WHERE id = ?`,
		micros(at), id)
	if err != nil {
		return fmt.Errorf("destroy secret %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("destroy secret %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// PutSession inserts s or overwrites the session with the same DeviceID
// and SessionID.
func (q *queries) PutSession(ctx context.Context, s store.Session) error {
	_, err := q.exec(ctx, `INSERT INTO sessions (device_id, session_id, state, updated_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (device_id, session_id) DO UPDATE SET
			state = excluded.state, updated_at = excluded.updated_at`,
		s.DeviceID, s.SessionID, s.State, micros(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put session %s/%s: %w", s.DeviceID, s.SessionID, err)
	}
	return nil
}

// GetSession returns one session, or store.ErrNotFound.
func (q *queries) GetSession(ctx context.Context, deviceID, sessionID string) (store.Session, error) {
	var (
		s         store.Session
		updatedAt sql.NullInt64
	)
	err := q.read.QueryRowContext(ctx, `SELECT device_id, session_id, state, updated_at
		FROM sessions WHERE device_id = ? AND session_id = ?`, deviceID, sessionID).
		Scan(&s.DeviceID, &s.SessionID, &s.State, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, fmt.Errorf("get session %s/%s: %w",
			deviceID, sessionID, store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("get session %s/%s: %w", deviceID, sessionID, err)
	}
	s.UpdatedAt = timeOf(updatedAt)
	return s, nil
}

// DeleteSessionsBefore deletes the sessions updated before the given time,
// including those with a zero UpdatedAt, and returns how many it deleted.
func (q *queries) DeleteSessionsBefore(ctx context.Context, before time.Time) (int, error) {
	n, err := q.exec(ctx, `DELETE FROM sessions WHERE updated_at IS NULL OR updated_at < ?`,
		before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("delete sessions before %s: %w",
			before.UTC().Format(time.RFC3339), err)
	}
	return int(n), nil
}
