package agent

import (
	"context"
	"testing"
	"time"

	"github.com/virmo/virmo/server"
	"github.com/virmo/virmo/syncml"
)

// TestLongPollFirstRequestAgainstServer opens the first long-poll of an
// agent against the real server: it must succeed after the one expected
// 401, because the first request names the device.
func TestLongPollFirstRequestAgainstServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := startServer(t, ctx, server.Config{NotifyHold: time.Millisecond}, false)
	agentDir := enrollAgent(t, ctx, s, EnrollConfig{DevID: "IMEI:000000000000003"})
	a := startAgent(t, Config{DataDir: agentDir, Driver: openSim(t, s.dir),
		NotifyLongPoll: true})
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
