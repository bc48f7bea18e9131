package agent

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/virmo/virmo/hypervisor/sim"
	"github.com/virmo/virmo/server"
	"github.com/virmo/virmo/store/sqlite"
	"github.com/virmo/virmo/syncml"
)

// TestLongPollFirstRequestAgainstServer opens the first long-poll of an
// agent against the real server: it must succeed after the one expected
// 401, because the first request names the device.
func TestLongPollFirstRequestAgainstServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	hs := httptest.NewUnstartedServer(nil)
	url := "http://" + hs.Listener.Addr().String()
	srv, err := server.New(ctx, server.Config{DataDir: filepath.Join(dir, "server"), Store: st,
		PublicURL: url, NotifyHold: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = srv.Handler()
	hs.Start()
	defer hs.Close()

	token, err := srv.CreateEnrollToken(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	agentDir := filepath.Join(dir, "agent")
	err = Enroll(ctx, EnrollConfig{DataDir: agentDir, ServerURL: url, Token: token,
		DevID: "IMEI:000000000000003"})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	drv, err := sim.Open(filepath.Join(dir, "sim"))
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	a, err := New(Config{DataDir: agentDir, Driver: drv, NotifyLongPoll: true,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.runSession(ctx, syncml.AlertClientInitiated); err != nil {
		t.Fatalf("session: %v", err)
	}

	msg, next, err := a.longPoll(ctx, nil)
	if err != nil {
		t.Fatalf("first long-poll: %v", err)
	}
	if msg != nil {
		t.Errorf("first long-poll returned a notification, want none")
	}
	if next == nil {
		t.Fatal("first long-poll returned no next nonce")
	}
	if _, _, err := a.longPoll(ctx, next); err != nil {
		t.Errorf("long-poll with the next nonce: %v", err)
	}
}
