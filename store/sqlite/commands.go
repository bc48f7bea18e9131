package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/virmo/virmo/store"
)

const commandColumns = `device_id, seq, intent_id, kind, payload, state, attempts,
	session_id, status, result, error, created_at, updated_at`

func scanCommand(row interface{ Scan(...any) error }) (store.Command, error) {
	var (
		c                    store.Command
		createdAt, updatedAt sql.NullInt64
	)
	err := row.Scan(&c.DeviceID, &c.Seq, &c.IntentID, &c.Kind, &c.Payload, &c.State,
		&c.Attempts, &c.SessionID, &c.Status, &c.Result, &c.Error, &createdAt, &updatedAt)
	c.CreatedAt, c.UpdatedAt = timeOf(createdAt), timeOf(updatedAt)
	return c, err
}

// EnqueueCommand appends c to its device's queue with the device's next
// Seq, taken from the device_seq counter in the same transaction as the
// insert. It ignores c.Seq and stores store.CommandPending when c.State is
// empty.
func (q *queries) EnqueueCommand(ctx context.Context, c store.Command) (store.Command, error) {
	if c.State == "" {
		c.State = store.CommandPending
	}
	c.CreatedAt, c.UpdatedAt = stored(c.CreatedAt), stored(c.UpdatedAt)
	err := q.write(ctx, func(tx dbtx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO device_seq (device_id, last_seq)
			VALUES (?, 1)
			ON CONFLICT (device_id) DO UPDATE SET last_seq = last_seq + 1
			RETURNING last_seq`, c.DeviceID).Scan(&c.Seq)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO commands (`+commandColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.DeviceID, c.Seq, c.IntentID, c.Kind, c.Payload, c.State, c.Attempts,
			c.SessionID, c.Status, c.Result, c.Error, micros(c.CreatedAt), micros(c.UpdatedAt))
		return err
	})
	if err != nil {
		return store.Command{}, fmt.Errorf("enqueue command for device %s: %w", c.DeviceID, err)
	}
	return c, nil
}

// GetCommand returns one command, or store.ErrNotFound.
func (q *queries) GetCommand(ctx context.Context, deviceID string, seq int64) (store.Command, error) {
	row := q.read.QueryRowContext(ctx, `SELECT `+commandColumns+` FROM commands
		WHERE device_id = ? AND seq = ?`, deviceID, seq)
	c, err := scanCommand(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Command{}, fmt.Errorf("get command %s/%d: %w", deviceID, seq, store.ErrNotFound)
	}
	if err != nil {
		return store.Command{}, fmt.Errorf("get command %s/%d: %w", deviceID, seq, err)
	}
	return c, nil
}

// ListCommands returns the device's commands in the given states, or in
// any state when none is given, ordered by Seq. A limit of 0 or less
// returns every match.
func (q *queries) ListCommands(ctx context.Context, deviceID string, limit int,
	states ...store.CommandState) ([]store.Command, error) {
	query := `SELECT ` + commandColumns + ` FROM commands WHERE device_id = ?`
	args := []any{deviceID}
	if len(states) > 0 {
		query += ` AND state IN (?` + strings.Repeat(`, ?`, len(states)-1) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	query += ` ORDER BY seq`
	if limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit)
	}

	rows, err := q.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list commands of device %s: %w", deviceID, err)
	}
	defer rows.Close()

	var out []store.Command
	for rows.Next() {
		c, err := scanCommand(rows)
		if err != nil {
			return nil, fmt.Errorf("list commands of device %s: %w", deviceID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list commands of device %s: %w", deviceID, err)
	}
	return out, nil
}

// UpdateCommand overwrites State, Attempts, SessionID, Status, Result,
// Error and UpdatedAt of the command with c's DeviceID and Seq, or returns
// store.ErrNotFound.
func (q *queries) UpdateCommand(ctx context.Context, c store.Command) error {
	n, err := q.exec(ctx, `UPDATE commands SET state = ?, attempts = ?, session_id = ?,
		status = ?, result = ?, error = ?, updated_at = ?
		WHERE device_id = ? AND seq = ?`,
		c.State, c.Attempts, c.SessionID, c.Status, c.Result, c.Error, micros(c.UpdatedAt),
		c.DeviceID, c.Seq)
	if err != nil {
		return fmt.Errorf("update command %s/%d: %w", c.DeviceID, c.Seq, err)
	}
	if n == 0 {
		return fmt.Errorf("update command %s/%d: %w", c.DeviceID, c.Seq, store.ErrNotFound)
	}
	return nil
}

// PruneCommands deletes the done, failed and cancelled commands updated
// before the given time, including those with a zero UpdatedAt, and
// returns how many it deleted. The device_seq counters stay, so no Seq is
// reused.
func (q *queries) PruneCommands(ctx context.Context, before time.Time) (int, error) {
	n, err := q.exec(ctx, `DELETE FROM commands
		WHERE state IN (?, ?, ?) AND (updated_at IS NULL OR updated_at < ?)`,
		store.CommandDone, store.CommandFailed, store.CommandCancelled, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("prune commands before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return int(n), nil
}
