package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/virmo/virmo/store"
)

// Errors about enrollment tokens leave out the hash, because it is a
// digest of the token.

// CreateEnrollToken stores a new token, or returns store.ErrConflict if
// its hash exists. A zero ExpiresAt means the token never expires.
func (q *queries) CreateEnrollToken(ctx context.Context, t store.EnrollToken) error {
	_, err := q.exec(ctx, `INSERT INTO enroll_tokens
		(hash, note, created_at, expires_at, used_at, device_id) VALUES (?, ?, ?, ?, ?, ?)`,
		t.Hash, t.Note, micros(t.CreatedAt), micros(t.ExpiresAt), micros(t.UsedAt), t.DeviceID)
	if isConflict(err) {
		return fmt.Errorf("create enrollment token: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create enrollment token: %w", err)
	}
	return nil
}

// UseEnrollToken marks the token as used by deviceID at now. It returns
// store.ErrTokenUsed if the token was used or expired at or before now, and
// store.ErrNotFound for an unknown hash. The check and the mark are one
// UPDATE, so of two concurrent calls exactly one succeeds.
func (q *queries) UseEnrollToken(ctx context.Context, hash, deviceID string, now time.Time) error {
	err := q.write(ctx, func(tx dbtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE enroll_tokens SET used_at = ?, device_id = ?
			WHERE hash = ? AND used_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`,
			now.UnixMicro(), deviceID, hash, now.UnixMicro())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 1 {
			return err
		}

		var found int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM enroll_tokens WHERE hash = ?`, hash).
			Scan(&found)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return store.ErrTokenUsed
	})
	if err != nil {
		return fmt.Errorf("use enrollment token: %w", err)
	}
	return nil
}

// GetSetting returns the value of a setting, or store.ErrNotFound.
func (q *queries) GetSetting(ctx context.Context, key string) ([]byte, error) {
	var value []byte
	err := q.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).
		Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get setting %s: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get setting %s: %w", key, err)
	}
	return value, nil
}

// PutSetting inserts or overwrites a setting. A nil value is stored as an
// empty one.
func (q *queries) PutSetting(ctx context.Context, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	_, err := q.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("put setting %s: %w", key, err)
	}
	return nil
}

// AppendAudit stores e and returns it with its Seq, which is above the Seq
// of every earlier entry.
func (q *queries) AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	e.Time = stored(e.Time)
	err := q.write(ctx, func(tx dbtx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO audit (time, actor, action, target, detail)
			VALUES (?, ?, ?, ?, ?) RETURNING seq`,
			micros(e.Time), e.Actor, e.Action, e.Target, e.Detail).Scan(&e.Seq)
	})
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("append audit %s %s: %w", e.Action, e.Target, err)
	}
	return e, nil
}

// ListAudit returns the entries with Seq above after, oldest first, at
// most limit of them; a limit of 0 or less returns every entry.
func (q *queries) ListAudit(ctx context.Context, after int64, limit int) ([]store.AuditEntry, error) {
	query := `SELECT seq, time, actor, action, target, detail FROM audit
		WHERE seq > ? ORDER BY seq`
	args := []any{after}
	if limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := q.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit after %d: %w", after, err)
	}
	defer rows.Close()

	var out []store.AuditEntry
	for rows.Next() {
		var (
			e  store.AuditEntry
			ts sql.NullInt64
		)
		if err := rows.Scan(&e.Seq, &ts, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("list audit after %d: %w", after, err)
		}
		e.Time = timeOf(ts)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit after %d: %w", after, err)
	}
	return out, nil
}
