package agent

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/virmo/virmo/server/notify"
)

func TestLogLimiterPerReason(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		reason    string
		after     time.Duration
		wantOK    bool
		wantCount int
	}{
		{"junk", 0, true, 1},
		{"junk", time.Second, false, 1},
		{"junk", 2 * time.Second, false, 2},
		{"bad digest", 3 * time.Second, true, 1},
		{"junk", dropLogInterval - time.Nanosecond, false, 3},
		{"junk", dropLogInterval, true, 4},
		{"junk", dropLogInterval + time.Second, false, 1},
	}
	l := newLogLimiter(dropLogInterval)
	for i, tt := range tests {
		ok, count := l.allow(tt.reason, start.Add(tt.after))
		if ok != tt.wantOK {
			t.Errorf("event %d (%s): ok = %v, want %v", i, tt.reason, ok, tt.wantOK)
		}
		if count != tt.wantCount {
			t.Errorf("event %d (%s): count = %d, want %d", i, tt.reason, count, tt.wantCount)
		}
	}
}

func TestLogLimiterBoundsReasons(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLogLimiter(dropLogInterval)
	logged := 0
	for i := range 10 * maxDropReasons {
		if ok, _ := l.allow(fmt.Sprintf("reason %d", i), start); ok {
			logged++
		}
	}
	if logged != maxDropReasons+1 {
		t.Errorf("%d lines logged for distinct reasons, want %d", logged, maxDropReasons+1)
	}
	if n := len(l.reasons); n > maxDropReasons+1 {
		t.Errorf("limiter tracks %d reasons, want at most %d", n, maxDropReasons+1)
	}
}

// TestUDPJunkLoggedOnce sends a flood of junk datagrams and checks that
// the agent logs one line for them, not one per datagram.
func TestUDPJunkLoggedOnce(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv, func(c *Config) { c.NotifyUDP = "127.0.0.1:0" })
	conn, err := ta.listenNotifyUDP()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ta.serveNotifyUDP(ctx, conn)
	}()

	sender, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(ta.notifyAddr)))
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	for range 50 {
		if _, err := sender.Write([]byte("garbage")); err != nil {
			t.Fatalf("send datagram: %v", err)
		}
	}
	// A valid push after the flood: once it is accepted, the single reader
	// has handled every datagram before it.
	valid := notify.EncodePush(1, newTrigger(t, 0x41, testServerID, ta.account(t).ServerNonce))
	if _, err := sender.Write(valid); err != nil {
		t.Fatalf("send datagram: %v", err)
	}
	if id := receiveVerified(t, ta); id != "41" {
		t.Errorf("accepted session id = %q, want 41", id)
	}
	cancel()
	<-done

	logs := ta.logs.String()
	if got := strings.Count(logs, "drop notification datagram"); got != 1 {
		t.Errorf("log has %d lines for 50 junk datagrams, want 1:\n%s", got, logs)
	}
	if !strings.Contains(logs, "dropped=1") {
		t.Errorf("first drop line lacks dropped=1:\n%s", logs)
	}
}
