package agent

import (
	"context"
	"testing"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/server"
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
	s := startServer(t, ctx, server.Config{}, false)
	const devID = "IMEI:000000000000001"
	agentDir := enrollAgent(t, ctx, s, EnrollConfig{DevID: devID, Auth: auth})

	drv := openSim(t, s.dir)
	if _, err := drv.Create(ctx, "vm1", hypervisor.Config{VCPUs: 1, MemoryMiB: 32}); err != nil {
		t.Fatal(err)
	}
	if err := drv.Start(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, Config{DataDir: agentDir, Driver: drv, Encoding: enc, Auth: auth})
	a.reconcile(ctx)

	session := func(step string) {
		t.Helper()
		if err := a.runSession(ctx, syncml.AlertClientInitiated); err != nil {
			t.Fatalf("%s: session: %v", step, err)
		}
	}
	session("inventory")
	dev, err := s.store.GetDeviceByDevID(ctx, devID)
	if err != nil {
		t.Fatal(err)
	}
	if want := auth; dev.AuthType != want {
		t.Errorf("stored AuthType = %q, want %q", dev.AuthType, want)
	}
	if _, err := s.srv.Lock(ctx, dev.ID, "vm1", api.LockRequest{}); err != nil {
		t.Fatalf("lock: %v", err)
	}
	session("lock")
	a.reconcile(ctx)
	session("read-back")

	vm, err := s.store.GetVM(ctx, dev.ID, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if vm.LockState != "locked" {
		t.Errorf("server lock_state = %q, want locked", vm.LockState)
	}
}
