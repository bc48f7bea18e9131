package notify

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/virmo/virmo/notification"
)

func TestLongPollReturnsOnWake(t *testing.T) {
	f := newFixture(t)
	nonce := f.challenge(t)

	type result struct {
		resp *http.Response
		body []byte
	}
	done := make(chan result, 1)
	go func() {
		resp := f.get(t, goodAuth(nonce), "")
		body, _ := io.ReadAll(resp.Body)
		done <- result{resp, body}
	}()
	// Notify only once the long-poll is subscribed, so the wake-up, and
	// not a notification pending at connect, ends it.
	for f.hub.Subscribers(testDeviceID) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := f.notifier.Notify(context.Background(), testDeviceID); err != nil {
		t.Fatalf("Notify: %v", err)
	}

	r := <-done
	if r.resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", r.resp.StatusCode)
	}
	if got := r.resp.Header.Get("Content-Type"); got != ContentType {
		t.Errorf("Content-Type = %q, want %q", got, ContentType)
	}
	headerNonce(t, r.resp.Header.Get("Authentication-Info"), "nextnonce")

	trigger, _, err := notification.Decode(r.body)
	if err != nil {
		t.Fatalf("decode Package #0: %v", err)
	}
	if !notification.Verify(r.body, testServerPassword, testServerNonce) {
		t.Error("digest does not verify with the server password and server nonce")
	}
	if trigger.ServerID != testServerID {
		t.Errorf("ServerID = %q, want %q", trigger.ServerID, testServerID)
	}
	if trigger.UIMode != notification.UIModeBackground {
		t.Errorf("UIMode = %d, want background", trigger.UIMode)
	}
	if trigger.Initiator != notification.InitiatorServer {
		t.Errorf("Initiator = %d, want server", trigger.Initiator)
	}
	if trigger.Version != notification.VersionDM12 {
		t.Errorf("Version = %d, want %d", trigger.Version, notification.VersionDM12)
	}

	ok, err := f.notifier.NotifiedSession(context.Background(), f.store, testDeviceID,
		notification.SessionIDString(trigger.SessionID))
	if err != nil || !ok {
		t.Errorf("NotifiedSession(trigger session) = %t, %v; want true", ok, err)
	}
}

func TestLongPollTimeoutGives204(t *testing.T) {
	f := newFixture(t)
	resp := f.get(t, goodAuth(f.challenge(t)), "?wait=0")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status = %d, want 204", resp.StatusCode)
	}
	next := headerNonce(t, resp.Header.Get("Authentication-Info"), "nextnonce")

	// The next nonce works for the following request.
	again := f.get(t, goodAuth(next), "?wait=0")
	if again.StatusCode != http.StatusNoContent {
		t.Errorf("status with the next nonce = %d, want 204", again.StatusCode)
	}
}

func TestLongPollRejectsBadCredentials(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		auth func(nonce []byte) string
	}{
		{"missing", func([]byte) string { return "" }},
		{"other scheme", func([]byte) string { return "Basic ZGV2LTE6Y2xpZW50LXNlY3JldA==" }},
		{"wrong password", func(n []byte) string {
			return FormatAuthorization(testDevID, testDeviceID, "wrong", n)
		}},
		{"wrong user", func(n []byte) string {
			return FormatAuthorization(testDevID, "dev-2", testClientPassword, n)
		}},
		{"unknown devid", func(n []byte) string {
			return FormatAuthorization("urn:uuid:other", testDeviceID, testClientPassword, n)
		}},
		{"nonce never issued", func([]byte) string {
			return goodAuth([]byte("made-up-nonce"))
		}},
		{"garbage", func([]byte) string { return `SyncML-MD5 devid="a", nonce=` }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.get(t, tc.auth(f.challenge(t)), "?wait=0")
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401", resp.StatusCode)
			}
			headerNonce(t, resp.Header.Get("WWW-Authenticate"), "nonce")
		})
	}
}

func TestLongPollRejectsReplayedNonce(t *testing.T) {
	f := newFixture(t)
	auth := goodAuth(f.challenge(t))
	first := f.get(t, auth, "?wait=0")
	if first.StatusCode != http.StatusNoContent {
		t.Fatalf("first status = %d, want 204", first.StatusCode)
	}
	replay := f.get(t, auth, "?wait=0")
	if replay.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed status = %d, want 401", replay.StatusCode)
	}
}

func TestLongPollDeliversPendingAtConnect(t *testing.T) {
	f := newFixture(t)
	if err := f.notifier.Notify(context.Background(), testDeviceID); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	first := f.get(t, goodAuth(f.challenge(t)), "?wait=0")
	if first.StatusCode != http.StatusOK {
		t.Fatalf("status with a pending notification = %d, want 200", first.StatusCode)
	}
	body, _ := io.ReadAll(first.Body)
	if !notification.Verify(body, testServerPassword, testServerNonce) {
		t.Error("first delivery does not verify with the server nonce")
	}

	// A reconnect within ResendAfter waits instead of getting it again.
	next := headerNonce(t, first.Header.Get("Authentication-Info"), "nextnonce")
	second := f.get(t, goodAuth(next), "?wait=0")
	if second.StatusCode != http.StatusNoContent {
		t.Errorf("status of the reconnect = %d, want 204", second.StatusCode)
	}
}

func TestLongPollResendUsesFallbackNonce(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ResendAfter = time.Nanosecond })
	if err := f.notifier.Notify(context.Background(), testDeviceID); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	first := f.get(t, goodAuth(f.challenge(t)), "?wait=0")
	next := headerNonce(t, first.Header.Get("Authentication-Info"), "nextnonce")
	second := f.get(t, goodAuth(next), "?wait=0")
	if second.StatusCode != http.StatusOK {
		t.Fatalf("status of the resend = %d, want 200", second.StatusCode)
	}
	body, _ := io.ReadAll(second.Body)
	if !notification.Verify(body, testServerPassword, notification.FallbackNonce()) {
		t.Error("resend does not verify with the fallback nonce")
	}
}

func TestLongPollRejectsOtherMethodsAndWait(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Post(f.srv.URL+Path, "text/plain", nil)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST status = %d, want 405", resp.StatusCode)
	}
	bad := f.get(t, goodAuth(f.challenge(t)), "?wait=-1")
	if bad.StatusCode != http.StatusBadRequest {
		t.Errorf("wait=-1 status = %d, want 400", bad.StatusCode)
	}
}

func TestSessionOpenedClearsPending(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.notifier.Notify(ctx, testDeviceID); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	p, ok, err := loadPending(ctx, f.store, testDeviceID)
	if err != nil || !ok {
		t.Fatalf("pending after Notify: %t, %v", ok, err)
	}
	id := notification.SessionIDString(p.SessionID)

	if ok, _ := f.notifier.NotifiedSession(ctx, f.store, testDeviceID, id+"0"); ok {
		t.Error("NotifiedSession accepted another session id")
	}
	// A second wake-up while one is pending keeps its session id.
	if err := f.notifier.Notify(ctx, testDeviceID); err != nil {
		t.Fatalf("second Notify: %v", err)
	}
	if again, _, _ := loadPending(ctx, f.store, testDeviceID); again.SessionID != p.SessionID {
		t.Errorf("session id changed from %s to %s", id, notification.SessionIDString(again.SessionID))
	}

	if err := f.notifier.SessionOpened(ctx, f.store, testDeviceID, id); err != nil {
		t.Fatalf("SessionOpened: %v", err)
	}
	if ok, _ := f.notifier.NotifiedSession(ctx, f.store, testDeviceID, id); ok {
		t.Error("NotifiedSession still true after SessionOpened")
	}
}
