package agent

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/hypervisor/sim"
	"github.com/virmo/virmo/server"
	"github.com/virmo/virmo/store/sqlite"
	"github.com/virmo/virmo/syncml"
)

// TestAgentAgainstServer runs the agent against the real server in
// process, for each encoding and credential type: a lock sent by the
// server is applied and read back as locked.
func TestAgentAgainstServer(t *testing.T) {
	for _, enc := range []string{EncodingXML, EncodingWBXML} {
		for _, auth := range []string{AuthMD5, AuthHMAC} {
			t.Run(enc+"/"+auth, func(t *testing.T) { testAgentAgainstServer(t, enc, auth) })
		}
	}
}

func testAgentAgainstServer(t *testing.T, enc, auth string) {
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
		PublicURL: url, Logger: slog.New(slog.DiscardHandler)})
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
	const devID = "IMEI:000000000000001"
	err = Enroll(ctx, EnrollConfig{DataDir: agentDir, ServerURL: url, Token: token,
		DevID: devID, Auth: auth})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}

	drv, err := sim.Open(filepath.Join(dir, "sim"))
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	if _, err := drv.Create(ctx, "vm1", hypervisor.Config{VCPUs: 1, MemoryMiB: 32}); err != nil {
		t.Fatal(err)
	}
	if err := drv.Start(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{DataDir: agentDir, Driver: drv, Encoding: enc, Auth: auth,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.reconcile(ctx)

	session := func(step string) {
		t.Helper()
		if err := a.runSession(ctx, syncml.AlertClientInitiated); err != nil {
			t.Fatalf("%s: session: %v", step, err)
		}
	}
	session("inventory")
	dev, err := st.GetDeviceByDevID(ctx, devID)
	if err != nil {
		t.Fatal(err)
	}
	if want := auth; dev.AuthType != want {
		t.Errorf("stored AuthType = %q, want %q", dev.AuthType, want)
	}
	if _, err := srv.Lock(ctx, dev.ID, "vm1", api.LockRequest{}); err != nil {
		t.Fatalf("lock: %v", err)
	}
	session("lock")
	a.reconcile(ctx)
	session("read-back")

	vm, err := st.GetVM(ctx, dev.ID, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if vm.LockState != "locked" {
		t.Errorf("server lock_state = %q, want locked", vm.LockState)
	}
}
