package agent

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/virmo/virmo/mo/dmacc"
	"github.com/virmo/virmo/notification"
)

// mustTrigger returns a Package #0 from the test server for sessionID,
// with the digest keyed by the test server password and nonce. It panics on
// an encoding failure, so fuzz seeds can use it.
func mustTrigger(sessionID uint16, serverID string, nonce []byte) []byte {
	msg, err := notification.Encode(notification.Trigger{
		Version:   notification.VersionDM12,
		UIMode:    notification.UIModeBackground,
		Initiator: notification.InitiatorServer,
		SessionID: sessionID,
	}, serverID, testServerPassword, nonce)
	if err != nil {
		panic(err)
	}
	return msg
}

func newTrigger(t *testing.T, sessionID uint16, serverID string, nonce []byte) []byte {
	t.Helper()
	return mustTrigger(sessionID, serverID, nonce)
}

// testAccountValues returns the DM account the test server enrolls, with
// the server nonce of enrollment.
func testAccountValues() dmacc.Account {
	return dmacc.Account{
		ServerID:       testServerID,
		ClientUser:     testClientUser,
		ClientPassword: testClientPassword,
		ServerPassword: testServerPassword,
		ClientNonce:    testClientNonce,
		ServerNonce:    testServerNonce,
	}
}

// withVersion returns msg with the 10-bit version field set to version.
func withVersion(msg []byte, version uint64) []byte {
	out := bytes.Clone(msg)
	header := binary.BigEndian.Uint64(out[notification.DigestSize:])
	header = header&^(uint64(0x3ff)<<54) | version<<54
	binary.BigEndian.PutUint64(out[notification.DigestSize:], header)
	return out
}

func TestVerifyTrigger(t *testing.T) {
	replaced := [][]byte{[]byte("replaced-nonce-1"), []byte("replaced-nonce-2")}
	good := newTrigger(t, 0x1A2, testServerID, testServerNonce)
	cases := []struct {
		name         string
		msg          []byte
		wantErr      string // empty when the trigger verifies
		wantFallback bool
	}{
		{"stored nonce", good, "", false},
		{"fallback nonce", newTrigger(t, 0x1A2, testServerID, notification.FallbackNonce()), "", true},
		{"replaced nonce", newTrigger(t, 0x1A2, testServerID, replaced[1]), "", false},
		{"unknown nonce", newTrigger(t, 0x1A2, testServerID, []byte("never-stored")),
			"digest does not match", false},
		{"flipped digest bit", append([]byte{good[0] ^ 1}, good[1:]...),
			"digest does not match", false},
		{"wrong server id", newTrigger(t, 0x1A2, "other-server", testServerNonce),
			`"other-server"`, false},
		{"empty", nil, "malformed", false},
		{"truncated header", good[:notification.MinSize-1], "malformed", false},
		{"truncated server id", good[:len(good)-2], "malformed", false},
		{"version below 1.2", withVersion(good, 10), "version 10", false},
		{"version above 1.3", withVersion(good, 14), "version 14", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			trigger, usedFallback, err := verifyTrigger(tc.msg, testAccountValues(), replaced)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("verifyTrigger accepted the trigger, want an error containing %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error = %q, want it to contain %q", err, tc.wantErr)
				}
				for _, secret := range []string{testServerPassword, string(testServerNonce), string(replaced[1])} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q contains the secret %q", err, secret)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("verifyTrigger: %v", err)
			}
			if trigger.SessionID != 0x1A2 {
				t.Errorf("SessionID = %#x, want 0x1a2", trigger.SessionID)
			}
			if usedFallback != tc.wantFallback {
				t.Errorf("usedFallback = %v, want %v", usedFallback, tc.wantFallback)
			}
		})
	}
}

func TestNotifierFirstSeenWindow(t *testing.T) {
	n := &notifier{seen: map[uint16]time.Time{}}
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	steps := []struct {
		sessionID uint16
		at        time.Duration
		want      bool
	}{
		{7, 0, true},
		{7, time.Second, false},
		{8, time.Second, true},
		{7, notifyDedupWindow - time.Millisecond, false},
		{7, notifyDedupWindow, true},
		{8, notifyDedupWindow + time.Second, true},
	}
	for i, s := range steps {
		if got := n.firstSeen(s.sessionID, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d: firstSeen(%d, +%s) = %v, want %v", i, s.sessionID, s.at, got, s.want)
		}
	}
	if got := n.firstSeen(9, t0.Add(3*notifyDedupWindow)); !got {
		t.Error("firstSeen of a new session id = false, want true")
	}
	if len(n.seen) != 1 {
		t.Errorf("seen holds %d session ids after the window passed, want 1", len(n.seen))
	}
}

// receiveVerified returns the next session id the notifier queued.
func receiveVerified(t *testing.T, ta *testAgent) string {
	t.Helper()
	select {
	case id := <-ta.notify.verified:
		return id
	case <-time.After(10 * time.Second):
		t.Fatalf("no notification was accepted; log:\n%s", ta.logs.String())
		return ""
	}
}

func TestNotifierHandleDropsInvalidAndRepeats(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv, func(c *Config) { c.NotifyLongPoll = true })
	nonce := ta.account(t).ServerNonce

	ta.notify.handle(newTrigger(t, 0x10, testServerID, nonce), "test")
	ta.notify.handle(newTrigger(t, 0x10, testServerID, nonce), "test")
	ta.notify.handle(newTrigger(t, 0x11, "other-server", nonce), "test")
	ta.notify.handle(newTrigger(t, 0x12, testServerID, []byte("wrong-nonce")), "test")
	ta.notify.handle(newTrigger(t, 0x13, testServerID, notification.FallbackNonce()), "test")

	if id := receiveVerified(t, ta); id != "10" {
		t.Errorf("first accepted session id = %q, want 10", id)
	}
	if id := receiveVerified(t, ta); id != "13" {
		t.Errorf("second accepted session id = %q, want 13: the repeat and the invalid triggers "+
			"must be dropped", id)
	}
	logs := ta.logs.String()
	if got := strings.Count(logs, "drop notification"); got != 2 {
		t.Errorf("log has %d dropped notifications, want 2 (server id, digest):\n%s", got, logs)
	}
	if !strings.Contains(logs, "notification verified with the fallback nonce") {
		t.Errorf("log does not report the fallback nonce:\n%s", logs)
	}
	checkNoSecretsLogged(t, ta, nonce, notification.FallbackNonce())
}

func TestNotifierKeepsLastReplacedNonces(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv, func(c *Config) { c.NotifyLongPoll = true })
	var replaced [][]byte
	for i := range serverNonceHistory + 1 {
		nonce := []byte("replaced-nonce-" + string(rune('a'+i)))
		replaced = append(replaced, nonce)
		ta.rememberServerNonce(nonce)
	}

	// The oldest nonce fell out of the history; the next one is still in it.
	ta.notify.handle(newTrigger(t, 0x20, testServerID, replaced[0]), "test")
	ta.notify.handle(newTrigger(t, 0x21, testServerID, replaced[1]), "test")
	if id := receiveVerified(t, ta); id != "21" {
		t.Errorf("accepted session id = %q, want 21", id)
	}
	if !strings.Contains(ta.logs.String(), "drop notification") {
		t.Errorf("trigger keyed with a nonce replaced %d times ago was not dropped:\n%s",
			serverNonceHistory+1, ta.logs.String())
	}
}
