package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/virmo/virmo/store"
)

const intentColumns = `id, device_id, vm, kind, state, params, secret_id, error,
	created_at, updated_at`

func scanIntent(row interface{ Scan(...any) error }) (store.Intent, error) {
	var (
		in                   store.Intent
		createdAt, updatedAt sql.NullInt64
	)
	err := row.Scan(&in.ID, &in.DeviceID, &in.VM, &in.Kind, &in.State, &in.Params,
		&in.SecretID, &in.Error, &createdAt, &updatedAt)
	in.CreatedAt, in.UpdatedAt = timeOf(createdAt), timeOf(updatedAt)
	return in, err
}

// CreateIntent stores a new intent, or returns store.ErrConflict if its ID
// exists.
func (q *queries) CreateIntent(ctx context.Context, in store.Intent) error {
	_, err := q.exec(ctx, `INSERT INTO intents (`+intentColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.ID, in.DeviceID, in.VM, in.Kind, in.State, in.Params, in.SecretID, in.Error,
		micros(in.CreatedAt), micros(in.UpdatedAt))
	if isConflict(err) {
		return fmt.Errorf("create intent %s: %w", in.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create intent %s: %w", in.ID, err)
	}
	return nil
}

// GetIntent returns one intent, or store.ErrNotFound.
func (q *queries) GetIntent(ctx context.Context, id string) (store.Intent, error) {
	row := q.read.QueryRowContext(ctx, `SELECT `+intentColumns+` FROM intents WHERE id = ?`, id)
	in, err := scanIntent(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Intent{}, fmt.Errorf("get intent %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Intent{}, fmt.Errorf("get intent %s: %w", id, err)
	}
	return in, nil
}

// UpdateIntent overwrites State, Params, SecretID, Error and UpdatedAt of
// the intent with in.ID, or returns store.ErrNotFound.
func (q *queries) UpdateIntent(ctx context.Context, in store.Intent) error {
	n, err := q.exec(ctx, `UPDATE intents SET state = ?, params = ?, secret_id = ?,
		error = ?, updated_at = ? WHERE id = ?`,
		in.State, in.Params, in.SecretID, in.Error, micros(in.UpdatedAt), in.ID)
	if err != nil {
		return fmt.Errorf("update intent %s: %w", in.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("update intent %s: %w", in.ID, store.ErrNotFound)
	}
	return nil
}

// ListIntents returns the intents of one VM, newest CreatedAt first, in
// the given state or in any state when state is empty.
func (q *queries) ListIntents(ctx context.Context, deviceID, vm, state string) ([]store.Intent, error) {
	query := `SELECT ` + intentColumns + ` FROM intents WHERE device_id = ? AND vm = ?`
	args := []any{deviceID, vm}
	if state != "" {
		query += ` AND state = ?`
		args = append(args, state)
	}
	query += ` ORDER BY created_at DESC, id DESC`

	rows, err := q.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list intents of vm %s/%s: %w", deviceID, vm, err)
	}
	defer rows.Close()

	var out []store.Intent
	for rows.Next() {
		in, err := scanIntent(rows)
		if err != nil {
			return nil, fmt.Errorf("list intents of vm %s/%s: %w", deviceID, vm, err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list intents of vm %s/%s: %w", deviceID, vm, err)
	}
	return out, nil
}
