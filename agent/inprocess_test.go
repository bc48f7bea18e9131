package agent

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/virmo/virmo/server"
	"github.com/virmo/virmo/store/sqlite"
)

// inProcessServer is the real VirMO server on a SQLite store, served on
// loopback by httptest, for tests that run the agent against it.
type inProcessServer struct {
	dir        string // the test's temporary directory, which also contains the agent data
	url        string
	store      *sqlite.Store
	srv        *server.Server
	httpServer *httptest.Server
}

// startServer starts the real server in a new temporary directory, over
// TLS when useTLS is set. It sets DataDir, Store, PublicURL and Logger of
// cfg and keeps the other fields. The HTTP server and the store close when
// the test ends.
func startServer(t *testing.T, ctx context.Context, cfg server.Config, useTLS bool) *inProcessServer {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	hs := httptest.NewUnstartedServer(nil)
	scheme := "http://"
	if useTLS {
		scheme = "https://"
	}
	url := scheme + hs.Listener.Addr().String()
	cfg.DataDir = filepath.Join(dir, "server")
	cfg.Store = st
	cfg.PublicURL = url
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = srv.Handler()
	if useTLS {
		hs.StartTLS()
	} else {
		hs.Start()
	}
	t.Cleanup(hs.Close)
	return &inProcessServer{dir: dir, url: url, store: st, srv: srv, httpServer: hs}
}

// enrollAgent enrolls a device with s through Enroll, using a new
// enrollment token, and returns the agent's data directory. It sets
// DataDir, ServerURL and Token of cfg and keeps the other fields.
func enrollAgent(t *testing.T, ctx context.Context, s *inProcessServer, cfg EnrollConfig) string {
	t.Helper()
	token, err := s.srv.CreateEnrollToken(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = filepath.Join(s.dir, "agent")
	cfg.ServerURL = s.url
	cfg.Token = token
	if err := Enroll(ctx, cfg); err != nil {
		t.Fatalf("enroll: %v", err)
	}
	return cfg.DataDir
}

// startAgent creates an agent with cfg and a discarding logger, and closes
// it when the test ends.
func startAgent(t *testing.T, cfg Config) *Agent {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}
