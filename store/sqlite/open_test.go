package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenSetsPragmas(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "virmo.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer s.Close()

	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"secure_delete", "1"},
	}
	for _, tc := range tests {
		var got string
		if err := s.writer.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Errorf("PRAGMA %s: %v", tc.pragma, err)
			continue
		}
		if got != tc.want {
			t.Errorf("writer PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}

	var queryOnly string
	if err := s.reader.QueryRowContext(ctx, "PRAGMA query_only").Scan(&queryOnly); err != nil {
		t.Fatalf("PRAGMA query_only: %v", err)
	}
	if queryOnly != "1" {
		t.Errorf("reader PRAGMA query_only = %s, want 1", queryOnly)
	}
}

func TestOpenMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "virmo.db")
	for range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		var version, rows int
		err = s.reader.QueryRowContext(ctx,
			"SELECT max(version), count(*) FROM schema_version").Scan(&version, &rows)
		s.Close()
		if err != nil {
			t.Fatalf("read schema_version: %v", err)
		}
		if version != SchemaVersion() {
			t.Errorf("schema version = %d, want %d", version, SchemaVersion())
		}
		if rows != 1 {
			t.Errorf("schema_version has %d rows, want 1", rows)
		}
	}
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "virmo.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	_, err = s.writer.ExecContext(ctx, "UPDATE schema_version SET version = ?", SchemaVersion()+1)
	s.Close()
	if err != nil {
		t.Fatalf("bump schema version: %v", err)
	}

	s, err = Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a newer schema succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("error %q does not say the schema is newer", err)
	}
}
