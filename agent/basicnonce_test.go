package agent

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/virmo/virmo/hypervisor/sim"
	"github.com/virmo/virmo/notification"
	"github.com/virmo/virmo/server"
	"github.com/virmo/virmo/store/sqlite"
	"github.com/virmo/virmo/syncml"
)

// TestBasicKeepsServerNonce runs two basic sessions against the real
// server over TLS. A Package #0 keyed with the server nonce the server
// stores must then verify without the fallback nonce. The basic Chal gives
// the server no new nonce, so the agent must keep the one it has.
func TestBasicKeepsServerNonce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	hs := httptest.NewUnstartedServer(nil)
	url := "https://" + hs.Listener.Addr().String()
	srv, err := server.New(ctx, server.Config{DataDir: filepath.Join(dir, "server"), Store: st,
		PublicURL: url, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = srv.Handler()
	hs.StartTLS()
	defer hs.Close()

	token, err := srv.CreateEnrollToken(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	agentDir := filepath.Join(dir, "agent")
	const devID = "IMEI:000000000000002"
	err = Enroll(ctx, EnrollConfig{DataDir: agentDir, ServerURL: url, Token: token,
		DevID: devID, Auth: AuthBasic, HTTPClient: hs.Client()})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}

	drv, err := sim.Open(filepath.Join(dir, "sim"))
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	a, err := New(Config{DataDir: agentDir, Driver: drv, HTTPClient: hs.Client(),
		NotifyLongPoll: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	for _, step := range []string{"first", "second"} {
		if err := a.runSession(ctx, syncml.AlertClientInitiated); err != nil {
			t.Fatalf("%s session: %v", step, err)
		}
	}

	dev, err := st.GetDeviceByDevID(ctx, devID)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := a.account()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := notification.Encode(notification.Trigger{
		Version:   notification.VersionDM12,
		Initiator: notification.InitiatorServer,
		SessionID: 7,
		ServerID:  acc.ServerID,
	}, acc.ServerID, acc.ServerPassword, dev.ServerNonce)
	if err != nil {
		t.Fatal(err)
	}
	_, usedFallback, err := verifyTrigger(msg, acc, nil)
	if err != nil {
		t.Fatalf("Package #0 keyed with the server's stored nonce: %v", err)
	}
	if usedFallback {
		t.Error("Package #0 verified only with the fallback nonce")
	}
}
