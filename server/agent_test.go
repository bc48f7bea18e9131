package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/virmo/virmo/agent"
	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/hypervisor/sim"
	"github.com/virmo/virmo/server"
	"github.com/virmo/virmo/store/sqlite"
)

// TestServerUnlockClearsUserUnlock locks a VM with user unlock through the
// real agent in process, unlocks it from the server, and checks that the
// agent's tree no longer has UserUnlock true or an UnlockAuth digest.
func TestServerUnlockClearsUserUnlock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	hs := httptest.NewUnstartedServer(nil)
	url := "http://" + hs.Listener.Addr().String()
	srv, err := server.New(ctx, server.Config{DataDir: filepath.Join(dir, "server"), Store: st,
		PublicURL: url, Logger: slog.New(slog.DiscardHandler), DisableNotifyUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs.Config.Handler = srv.Handler()
	hs.Start()
	defer hs.Close()

	token, err := srv.CreateEnrollToken(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	agentDir := filepath.Join(dir, "agent")
	const devID = "IMEI:000000000000012"
	err = agent.Enroll(ctx, agent.EnrollConfig{DataDir: agentDir, ServerURL: url, Token: token,
		DevID: devID})
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
	a, err := agent.New(agent.Config{DataDir: agentDir, Driver: drv,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	sync := func(step string) {
		t.Helper()
		if err := a.Reconcile(ctx); err != nil {
			t.Fatalf("%s: reconcile: %v", step, err)
		}
		if err := a.Session(ctx); err != nil {
			t.Fatalf("%s: session: %v", step, err)
		}
	}
	sync("inventory")
	dev, err := st.GetDeviceByDevID(ctx, devID)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := srv.Lock(ctx, dev.ID, "vm1", api.LockRequest{UserUnlock: true}); err != nil {
		t.Fatalf("lock: %v", err)
	}
	sync("lock")
	sync("lock read-back")
	if got := value(t, a, "./VirMO/vm1/LockParams/UserUnlock"); got != "true" {
		t.Fatalf("UserUnlock after the lock = %q, want true", got)
	}

	if _, err := srv.Unlock(ctx, dev.ID, "vm1"); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	sync("unlock")
	sync("unlock read-back")

	if got := value(t, a, "./VirMO/vm1/LockParams/UserUnlock"); got != "false" {
		t.Errorf("UserUnlock after the server unlock = %q, want false", got)
	}
	_, err = a.Value("./VirMO/vm1/LockParams/UnlockAuth/AuthDigest")
	var treeErr *dmtree.StatusError
	if !errors.As(err, &treeErr) || treeErr.Code != 404 {
		t.Errorf("AuthDigest after the server unlock: err = %v, want status 404 (UnlockAuth deleted)", err)
	}
	vm, err := st.GetVM(ctx, dev.ID, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if vm.LockState != "unlocked" || vm.UserUnlock {
		t.Errorf("server VM = %s user_unlock=%t, want unlocked user_unlock=false",
			vm.LockState, vm.UserUnlock)
	}
	cmds, err := st.ListCommands(ctx, dev.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if c.State != "done" {
			t.Errorf("command %d is %s (status %d, %s), want done", c.Seq, c.State, c.Status, c.Error)
		}
	}
}

func value(t *testing.T, a *agent.Agent, uri string) string {
	t.Helper()
	v, err := a.Value(uri)
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	return string(v)
}
