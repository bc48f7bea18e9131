// Package sqlite is the SQLite backend of store.Store, built on the pure-Go
// driver modernc.org/sqlite.
//
// The database runs in WAL mode with synchronous=FULL, so a write is on
// disk when its commit returns, if the disk honours fsync. All writes of one Store go through a single
// connection and each runs in a BEGIN IMMEDIATE transaction, so writers of
// one process queue in Go instead of failing with SQLITE_BUSY. Reads outside
// InTx use a separate pool of read-only connections, which WAL lets run
// beside the writer. Times are stored as integer microseconds since the Unix
// epoch in UTC, and the zero time as NULL.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/virmo/virmo/store"
)

// busyTimeout is how long a connection waits for a lock held by another
// process on the same file (another Store, or the sqlite3 shell) before
// it returns SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	queries
	writer *sql.DB
	reader *sql.DB
}

var _ store.Store = (*Store)(nil)

// Open opens the database at path, creating the file if it does not exist,
// and migrates its schema to the newest version. It fails if the file has a
// schema version newer than this build supports. The path must not contain '?'.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.Contains(path, "?") {
		return nil, fmt.Errorf("open store %q: path must be a file name without '?'", path)
	}

	common := url.Values{}
	common.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	common.Add("_pragma", "foreign_keys(1)")

	writerParams := url.Values{"_txlock": {"immediate"}}
	writerParams["_pragma"] = append([]string{
		"journal_mode(WAL)", "synchronous(FULL)", "secure_delete(1)",
	}, common["_pragma"]...)
	writer, err := sql.Open("sqlite", path+"?"+writerParams.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	readerParams := url.Values{"_pragma": append([]string{"query_only(1)"}, common["_pragma"]...)}
	reader, err := sql.Open("sqlite", path+"?"+readerParams.Encode())
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	reader.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))

	s := &Store{writer: writer, reader: reader}
	s.queries = queries{read: reader, write: s.writeTx}
	return s, nil
}

// Close closes both connection pools. Calls in progress may fail.
func (s *Store) Close() error {
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// InTx runs fn in one BEGIN IMMEDIATE transaction on the writer
// connection: it commits if fn returns nil and rolls back if fn returns an
// error or panics. The transaction holds the store's only writer, so fn
// must make every call through q: a write through the Store itself inside
// fn waits until ctx ends.
func (s *Store) InTx(ctx context.Context, fn func(q store.Queries) error) error {
	return s.writeTx(ctx, func(tx dbtx) error {
		q := &queries{
			read:  tx,
			write: func(_ context.Context, fn func(dbtx) error) error { return fn(tx) },
		}
		return fn(q)
	})
}

// writeTx runs fn in a transaction on the writer connection and commits it
// if fn returns nil.
func (s *Store) writeTx(ctx context.Context, fn func(tx dbtx) error) (err error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			// The rollback error adds nothing to fn's error or panic.
			_ = tx.Rollback()
		}
	}()

	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	committed = true
	return nil
}

// dbtx is the part of *sql.DB and *sql.Tx the queries use.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements store.Queries. Outside InTx, read is the reader pool
// and write opens a transaction on the writer; inside InTx both use the
// transaction.
type queries struct {
	read  dbtx
	write func(ctx context.Context, fn func(tx dbtx) error) error
}

// exec runs one write statement and returns the number of rows it changed.
func (q *queries) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := q.write(ctx, func(tx dbtx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// isConflict reports whether err is a violated UNIQUE or PRIMARY KEY
// constraint.
func isConflict(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE ||
		e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// micros converts t to the stored form: microseconds since the Unix epoch,
// or NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// timeOf converts a stored time back to a UTC time.Time.
func timeOf(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// stored returns t as a read would return it: in UTC, truncated to the
// microsecond.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}
