package agent

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"github.com/virmo/virmo/dmtree"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// stateFile is the name of the agent's SQLite database inside DataDir.
const stateFile = "agent.db"

const stateSchema = `
CREATE TABLE IF NOT EXISTS tree (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	snapshot BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	type       TEXT NOT NULL,
	format     TEXT NOT NULL,
	mark       TEXT NOT NULL,
	source     TEXT NOT NULL,
	target     TEXT NOT NULL,
	data       TEXT NOT NULL,
	correlator TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`

// Keys of the settings table.
const (
	settingDevID      = "devid"
	settingSessionSeq = "session_seq"
)

// queuedAlert is one row of the outgoing alert queue. Seq orders the
// queue and identifies the row when the server acknowledges it.
type queuedAlert struct {
	Seq   int64
	Alert dmtree.Alert
}

// stateStore is the agent's local state: the management tree snapshot, the
// outgoing Generic Alert queue and a few settings, in one SQLite file in WAL
// mode with synchronous=FULL, so a committed transaction survives a crash or
// power loss.
type stateStore struct {
	db *sql.DB
}

// openState opens (creating if needed) the state database at path.
func openState(path string) (*stateStore, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(10000)" +
		"&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}

	// One connection serialises every write, and the tree engine already
	// commits one transaction at a time.
	db.SetMaxOpenConns(1)

	if _, err := db.Exec(stateSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create state schema in %s: %w", path, err)
	}
	return &stateStore{db: db}, nil
}

func (s *stateStore) close() error { return s.db.Close() }

// snapshot returns the stored tree snapshot, or nil when none was stored.
func (s *stateStore) snapshot() ([]byte, error) {
	var snap []byte
	err := s.db.QueryRow(`SELECT snapshot FROM tree WHERE id = 1`).Scan(&snap)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read tree snapshot: %w", err)
	}
	return snap, nil
}

// persist stores a tree snapshot and appends alerts to the queue in one
// transaction. It is the tree's PersistFunc: when it returns nil both are
// durable, and when it fails neither is stored.
func (s *stateStore) persist(snapshot []byte, alerts []dmtree.Alert) error {
	tx, err := s.db.Begin()
	if err != nil {
		return fmt.Errorf("begin persist: %w", err)
	}
	defer tx.Rollback()

	_, err = tx.Exec(`INSERT INTO tree (id, snapshot) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot`, snapshot)
	if err != nil {
		return fmt.Errorf("store tree snapshot: %w", err)
	}
	for _, a := range alerts {
		_, err := tx.Exec(`INSERT INTO alerts
			(type, format, mark, source, target, data, correlator)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.Type, a.Format, a.Mark, a.Source, a.Target, a.Data, a.Correlator)
		if err != nil {
			return fmt.Errorf("queue alert %s: %w", a.Type, err)
		}
	}

	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit persist: %w", err)
	}
	return nil
}

// pendingAlerts returns the queued alerts in queue order.
func (s *stateStore) pendingAlerts() ([]queuedAlert, error) {
	rows, err := s.db.Query(`SELECT seq, type, format, mark, source, target, data, correlator
		FROM alerts ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("list queued alerts: %w", err)
	}
	defer rows.Close()

	var out []queuedAlert
	for rows.Next() {
		var q queuedAlert
		a := &q.Alert
		err := rows.Scan(&q.Seq, &a.Type, &a.Format, &a.Mark, &a.Source, &a.Target,
			&a.Data, &a.Correlator)
		if err != nil {
			return nil, fmt.Errorf("read queued alert: %w", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list queued alerts: %w", err)
	}
	return out, nil
}

// ackAlert deletes a queued alert the server acknowledged. Deleting a row
// that is already gone is not an error.
func (s *stateStore) ackAlert(seq int64) error {
	if _, err := s.db.Exec(`DELETE FROM alerts WHERE seq = ?`, seq); err != nil {
		return fmt.Errorf("delete acknowledged alert %d: %w", seq, err)
	}
	return nil
}

// setting returns the value of a setting and whether it exists.
func (s *stateStore) setting(key string) (string, bool, error) {
	var v string
	err := s.db.QueryRow(`SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, true, nil
}

// setSetting stores the value of a setting.
func (s *stateStore) setSetting(key, value string) error {
	_, err := s.db.Exec(`INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("store setting %s: %w", key, err)
	}
	return nil
}

// nextSessionSeq increments and returns the session counter, which names
// client-initiated sessions; it survives restarts so SessionIDs do not
// repeat soon after one.
func (s *stateStore) nextSessionSeq() (uint64, error) {
	var n uint64
	err := s.db.QueryRow(`INSERT INTO settings (key, value) VALUES (?, '1')
		ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1
		RETURNING CAST(value AS INTEGER)`, settingSessionSeq).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("advance session counter: %w", err)
	}
	return n, nil
}
