package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/virmo/virmo/store"
)

const vmColumns = `device_id, name, vmid, state, lock_state, lock_error,
	lock_generation, user_unlock, updated_at`

func scanVM(row interface{ Scan(...any) error }) (store.VM, error) {
	var (
		vm        store.VM
		updatedAt sql.NullInt64
	)
	err := row.Scan(&vm.DeviceID, &vm.Name, &vm.VMID, &vm.State, &vm.LockState,
		&vm.LockError, &vm.LockGeneration, &vm.UserUnlock, &updatedAt)
	vm.UpdatedAt = timeOf(updatedAt)
	return vm, err
}

// PutVM inserts vm or overwrites the VM with the same DeviceID and Name.
func (q *queries) PutVM(ctx context.Context, vm store.VM) error {
	_, err := q.exec(ctx, `INSERT INTO vms (`+vmColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (device_id, name) DO UPDATE SET
			vmid = excluded.vmid, state = excluded.state,
			lock_state = excluded.lock_state, lock_error = excluded.lock_error,
			lock_generation = excluded.lock_generation,
			user_unlock = excluded.user_unlock, updated_at = excluded.updated_at`,
		vm.DeviceID, vm.Name, vm.VMID, vm.State, vm.LockState, vm.LockError,
		vm.LockGeneration, vm.UserUnlock, micros(vm.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put vm %s/%s: %w", vm.DeviceID, vm.Name, err)
	}
	return nil
}

// GetVM returns one VM, or store.ErrNotFound.
func (q *queries) GetVM(ctx context.Context, deviceID, name string) (store.VM, error) {
	row := q.read.QueryRowContext(ctx, `SELECT `+vmColumns+` FROM vms
		WHERE device_id = ? AND name = ?`, deviceID, name)
	vm, err := scanVM(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.VM{}, fmt.Errorf("get vm %s/%s: %w", deviceID, name, store.ErrNotFound)
	}
	if err != nil {
		return store.VM{}, fmt.Errorf("get vm %s/%s: %w", deviceID, name, err)
	}
	return vm, nil
}

// ListVMs returns the VMs of one device, or of every device when deviceID
// is empty, ordered by device ID and then name.
func (q *queries) ListVMs(ctx context.Context, deviceID string) ([]store.VM, error) {
	query := `SELECT ` + vmColumns + ` FROM vms ORDER BY device_id, name`
	var args []any
	if deviceID != "" {
		query = `SELECT ` + vmColumns + ` FROM vms WHERE device_id = ? ORDER BY name`
		args = append(args, deviceID)
	}
	rows, err := q.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list vms of %q: %w", deviceID, err)
	}
	defer rows.Close()

	var out []store.VM
	for rows.Next() {
		vm, err := scanVM(rows)
		if err != nil {
			return nil, fmt.Errorf("list vms of %q: %w", deviceID, err)
		}
		out = append(out, vm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list vms of %q: %w", deviceID, err)
	}
	return out, nil
}

// DeleteVM deletes one VM, or returns store.ErrNotFound.
func (q *queries) DeleteVM(ctx context.Context, deviceID, name string) error {
	n, err := q.exec(ctx, `DELETE FROM vms WHERE device_id = ? AND name = ?`, deviceID, name)
	if err != nil {
		return fmt.Errorf("delete vm %s/%s: %w", deviceID, name, err)
	}
	if n == 0 {
		return fmt.Errorf("delete vm %s/%s: %w", deviceID, name, store.ErrNotFound)
	}
	return nil
}
