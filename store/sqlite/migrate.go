package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations are the schema changes in order: migrations[i] brings the
// schema from version i to version i+1. Append new versions, and never
// edit one that has shipped.
//
// The tables are STRICT, so a value of the wrong type fails the statement
// instead of being stored as it is.
var migrations = []string{
	// Version 1: the first schema.
	`
CREATE TABLE devices (
	id                   TEXT PRIMARY KEY,
	devid                TEXT NOT NULL UNIQUE,
	name                 TEXT NOT NULL,
	server_id            TEXT NOT NULL,
	client_user          TEXT NOT NULL,
	client_secret_sealed BLOB,
	server_secret_sealed BLOB,
	client_nonce         BLOB,
	server_nonce         BLOB,
	devinfo              TEXT, -- JSON object of the DevInfo leaves
	created_at           INTEGER,
	last_seen            INTEGER
) STRICT;

CREATE TABLE vms (
	device_id       TEXT NOT NULL,
	name            TEXT NOT NULL,
	vmid            TEXT NOT NULL,
	state           TEXT NOT NULL,
	lock_state      TEXT NOT NULL,
	lock_error      TEXT NOT NULL,
	lock_generation INTEGER NOT NULL,
	user_unlock     INTEGER NOT NULL,
	updated_at      INTEGER,
	PRIMARY KEY (device_id, name)
) STRICT;

-- device_seq holds the last Seq given out per device. It outlives the
-- pruned commands, so a Seq is never reused.
CREATE TABLE device_seq (
	device_id TEXT PRIMARY KEY,
	last_seq  INTEGER NOT NULL
) STRICT;

CREATE TABLE commands (
	device_id  TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	intent_id  TEXT NOT NULL,
	kind       TEXT NOT NULL,
	payload    BLOB,
	state      TEXT NOT NULL,
	attempts   INTEGER NOT NULL,
	session_id TEXT NOT NULL,
	status     INTEGER NOT NULL,
	result     TEXT NOT NULL,
	error      TEXT NOT NULL,
	created_at INTEGER,
	updated_at INTEGER,
	PRIMARY KEY (device_id, seq)
) STRICT;
CREATE INDEX commands_by_state ON commands (device_id, state, seq);
CREATE INDEX commands_by_update ON commands (state, updated_at);

CREATE TABLE intents (
	id         TEXT PRIMARY KEY,
	device_id  TEXT NOT NULL,
	vm         TEXT NOT NULL,
	kind       TEXT NOT NULL,
	state      TEXT NOT NULL,
	params     BLOB,
	secret_id  TEXT NOT NULL,
	error      TEXT NOT NULL,
	created_at INTEGER,
	updated_at INTEGER
) STRICT;
CREATE INDEX intents_by_vm ON intents (device_id, vm, created_at);

CREATE TABLE secrets (
	id           TEXT PRIMARY KEY,
	device_id    TEXT NOT NULL,
	vm           TEXT NOT NULL,
	sealed       BLOB,
	created_at   INTEGER,
	destroyed_at INTEGER
) STRICT;

CREATE TABLE sessions (
	device_id  TEXT NOT NULL,
	session_id TEXT NOT NULL,
	state      BLOB,
	updated_at INTEGER,
	PRIMARY KEY (device_id, session_id)
) STRICT;
CREATE INDEX sessions_by_update ON sessions (updated_at);

CREATE TABLE enroll_tokens (
	hash       TEXT PRIMARY KEY,
	note       TEXT NOT NULL,
	created_at INTEGER,
	expires_at INTEGER,
	used_at    INTEGER,
	device_id  TEXT NOT NULL
) STRICT;

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
) STRICT;

-- AUTOINCREMENT keeps a Seq from being reused after the newest entry is
-- deleted by hand.
CREATE TABLE audit (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	time   INTEGER,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	detail TEXT NOT NULL
) STRICT;
`,
	// Version 2: the credential type of each device; '' means md5.
	`ALTER TABLE devices ADD COLUMN auth_type TEXT NOT NULL DEFAULT '';`,
}

// SchemaVersion returns the schema version Open migrates a database to.
func SchemaVersion() int {
	return len(migrations)
}

// migrate creates the schema_version table if needed and applies every
// migration above the stored version, each in its own transaction together
// with its version bump.
func migrate(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT`)
	if err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}

	for {
		done, err := migrateOne(ctx, db)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// migrateOne applies the migration after the stored version and reports
// whether the schema was already current.
func migrateOne(ctx context.Context, db *sql.DB) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin migration: %w", err)
	}
	defer func() {
		if err != nil || done {
			_ = tx.Rollback()
		}
	}()

	var version int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err = tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return false, fmt.Errorf("initialise schema_version: %w", err)
		}
	case err != nil:
		return false, fmt.Errorf("read schema_version: %w", err)
	}

	if version > len(migrations) {
		return false, fmt.Errorf("schema version %d is newer than this build's %d: "+
			"use a newer virmo or restore a backup", version, len(migrations))
	}
	if version == len(migrations) {
		return true, nil
	}

	if _, err = tx.ExecContext(ctx, migrations[version]); err != nil {
		return false, fmt.Errorf("migrate schema to version %d: %w", version+1, err)
	}
	if _, err = tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, version+1); err != nil {
		return false, fmt.Errorf("migrate schema to version %d: %w", version+1, err)
	}
	if err = tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate schema to version %d: %w", version+1, err)
	}
	return false, nil
}
