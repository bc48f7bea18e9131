package agent

import (
	"context"
	"testing"

	"github.com/virmo/virmo/notification"
	"github.com/virmo/virmo/server"
	"github.com/virmo/virmo/syncml"
)

// TestBasicKeepsServerNonce runs two basic sessions against the real
// server over TLS. A Package #0 keyed with the server nonce the server
// stores must then verify without the fallback nonce. The basic Chal gives
// the server no new nonce, so the agent must keep the one it has.
func TestBasicKeepsServerNonce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := startServer(t, ctx, server.Config{}, true)
	const devID = "IMEI:000000000000002"
	agentDir := enrollAgent(t, ctx, s, EnrollConfig{DevID: devID, Auth: AuthBasic,
		HTTPClient: s.httpServer.Client()})
	a := startAgent(t, Config{DataDir: agentDir, Driver: openSim(t, s.dir),
		HTTPClient: s.httpServer.Client(), NotifyLongPoll: true})

	for _, step := range []string{"first", "second"} {
		if err := a.runSession(ctx, syncml.AlertClientInitiated); err != nil {
			t.Fatalf("%s session: %v", step, err)
		}
	}

	dev, err := s.store.GetDeviceByDevID(ctx, devID)
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
