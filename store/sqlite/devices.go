package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/virmo/virmo/store"
)

const deviceColumns = `id, devid, name, server_id, client_user,
	client_secret_sealed, server_secret_sealed, client_nonce, server_nonce,
	devinfo, created_at, last_seen, auth_type`

// deviceArgs returns the values of deviceColumns for d.
func deviceArgs(d store.Device) ([]any, error) {
	var devInfo any
	if d.DevInfo != nil {
		b, err := json.Marshal(d.DevInfo)
		if err != nil {
			return nil, err
		}
		devInfo = string(b)
	}
	return []any{
		d.ID, d.DevID, d.Name, d.ServerID, d.ClientUser,
		d.ClientSecretSealed, d.ServerSecretSealed, d.ClientNonce, d.ServerNonce,
		devInfo, micros(d.CreatedAt), micros(d.LastSeen), d.AuthType,
	}, nil
}

func scanDevice(row interface{ Scan(...any) error }) (store.Device, error) {
	var (
		d                   store.Device
		devInfo             sql.NullString
		createdAt, lastSeen sql.NullInt64
	)
	err := row.Scan(&d.ID, &d.DevID, &d.Name, &d.ServerID, &d.ClientUser,
		&d.ClientSecretSealed, &d.ServerSecretSealed, &d.ClientNonce, &d.ServerNonce,
		&devInfo, &createdAt, &lastSeen, &d.AuthType)
	if err != nil {
		return store.Device{}, err
	}
	if devInfo.Valid {
		if err := json.Unmarshal([]byte(devInfo.String), &d.DevInfo); err != nil {
			return store.Device{}, fmt.Errorf("decode devinfo: %w", err)
		}
	}
	d.CreatedAt, d.LastSeen = timeOf(createdAt), timeOf(lastSeen)
	return d, nil
}

// CreateDevice stores a new device. It returns store.ErrConflict if a
// device with the same ID or DevID exists.
func (q *queries) CreateDevice(ctx context.Context, d store.Device) error {
	args, err := deviceArgs(d)
	if err != nil {
		return fmt.Errorf("create device %s: %w", d.ID, err)
	}
	_, err = q.exec(ctx, `INSERT INTO devices (`+deviceColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if isConflict(err) {
		return fmt.Errorf("create device %s (devid %s): %w", d.ID, d.DevID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create device %s: %w", d.ID, err)
	}
	return nil
}

// GetDevice returns the device with the given ID, or store.ErrNotFound.
func (q *queries) GetDevice(ctx context.Context, id string) (store.Device, error) {
	row := q.read.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = ?`, id)
	d, err := scanDevice(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Device{}, fmt.Errorf("get device %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Device{}, fmt.Errorf("get device %s: %w", id, err)
	}
	return d, nil
}

// GetDeviceByDevID returns the device with the given DevInfo/DevId, or
// store.ErrNotFound.
func (q *queries) GetDeviceByDevID(ctx context.Context, devID string) (store.Device, error) {
	row := q.read.QueryRowContext(ctx,
		`SELECT `+deviceColumns+` FROM devices WHERE devid = ?`, devID)
	d, err := scanDevice(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Device{}, fmt.Errorf("get device by devid %s: %w", devID, store.ErrNotFound)
	}
	if err != nil {
		return store.Device{}, fmt.Errorf("get device by devid %s: %w", devID, err)
	}
	return d, nil
}

// ListDevices returns every device, ordered by ID.
func (q *queries) ListDevices(ctx context.Context) ([]store.Device, error) {
	rows, err := q.read.QueryContext(ctx, `SELECT `+deviceColumns+` FROM devices ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()

	var out []store.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return out, nil
}

// UpdateDevice overwrites every field of the device with d.ID. It returns
// store.ErrNotFound for an unknown ID and store.ErrConflict if d.DevID
// belongs to another device.
func (q *queries) UpdateDevice(ctx context.Context, d store.Device) error {
	args, err := deviceArgs(d)
	if err != nil {
		return fmt.Errorf("update device %s: %w", d.ID, err)
	}
	n, err := q.exec(ctx, `UPDATE devices SET devid = ?, name = ?, server_id = ?,
		client_user = ?, client_secret_sealed = ?, server_secret_sealed = ?,
		client_nonce = ?, server_nonce = ?, devinfo = ?, created_at = ?, last_seen = ?,
		auth_type = ?
		WHERE id = ?`, append(args[1:], d.ID)...)
	switch {
	case isConflict(err):
		return fmt.Errorf("update device %s: devid %s: %w", d.ID, d.DevID, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("update device %s: %w", d.ID, err)
	case n == 0:
		return fmt.Errorf("update device %s: %w", d.ID, store.ErrNotFound)
	}
	return nil
}
