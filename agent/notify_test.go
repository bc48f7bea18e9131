package agent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/mo/dmacc"
	"github.com/virmo/virmo/notification"
	"github.com/virmo/virmo/server/notify"
	"github.com/virmo/virmo/syncml"
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

// pollEvent records one long-poll request the test server answered.
type pollEvent struct {
	presented []byte // nonce in the request's Authorization, nil without one
	status    int
	issued    []byte // nonce the answer carried for the next request
}

// pollAnswer is a scripted answer to an authenticated long-poll: a status
// and, for 200, the Package #0 that body returns.
type pollAnswer struct {
	status int
	body   func() []byte
}

// longPollServer implements the server's side of GET /dm/notify: nonces it
// issued work once, a request without a valid credential gets 401 with a
// fresh nonce, and authenticated requests get the scripted answers in
// order. Once the script is used up it holds requests until they are
// cancelled.
type longPollServer struct {
	t      *testing.T
	events chan pollEvent

	mu      sync.Mutex
	issued  map[string]bool
	answers []pollAnswer
	counter int
}

// newLongPollDMServer returns a scripted DM server that also serves
// GET /dm/notify with lp.
func newLongPollDMServer(t *testing.T, answers ...pollAnswer) (*dmServer, *longPollServer) {
	lp := &longPollServer{t: t, events: make(chan pollEvent, 64), issued: map[string]bool{},
		answers: answers}
	d := &dmServer{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/enroll", d.enroll)
	mux.HandleFunc("POST /dm", d.dm)
	mux.Handle("GET /dm/notify", lp)
	d.srv = httptest.NewServer(mux)
	t.Cleanup(d.srv.Close)
	return d, lp
}

func (lp *longPollServer) newNonce() []byte {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	lp.counter++
	nonce := []byte(fmt.Sprintf("poll-nonce-%03d", lp.counter))
	lp.issued[string(nonce)] = true
	return nonce
}

// take reports whether the request carries a valid credential over a nonce
// still outstanding, and uses the nonce up.
func (lp *longPollServer) take(c notify.Credential) bool {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if !lp.issued[string(c.Nonce)] || c.DevID != testDevID || c.Username != testClientUser ||
		c.Digest != dmauth.MD5Digest(testClientUser, testClientPassword, c.Nonce) {
		return false
	}
	delete(lp.issued, string(c.Nonce))
	return true
}

func (lp *longPollServer) nextAnswer() (pollAnswer, bool) {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if len(lp.answers) == 0 {
		return pollAnswer{}, false
	}
	a := lp.answers[0]
	lp.answers = lp.answers[1:]
	return a, true
}

func (lp *longPollServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if got := r.URL.Query().Get("wait"); got != strconv.Itoa(notifyWait) {
		lp.t.Errorf("long-poll wait = %q, want %d", got, notifyWait)
	}
	var presented []byte
	cred, err := notify.ParseAuthorization(r.Header.Get("Authorization"))
	if err == nil {
		presented = cred.Nonce
	}
	if err != nil || !lp.take(cred) {
		lp.answer(w, presented, http.StatusUnauthorized, nil)
		return
	}

	a, ok := lp.nextAnswer()
	if !ok {
		<-r.Context().Done()
		return
	}
	var body []byte
	if a.body != nil {
		body = a.body()
	}
	lp.answer(w, presented, a.status, body)
}

// answer writes status and records the event. A 401 carries a fresh nonce
// in WWW-Authenticate, a 200 or 204 one in Authentication-Info nextnonce.
func (lp *longPollServer) answer(w http.ResponseWriter, presented []byte, status int, body []byte) {
	var issued []byte
	switch status {
	case http.StatusUnauthorized:
		issued = lp.newNonce()
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`%s realm="virmo", nonce="%s"`,
			notifyAuthScheme, base64.StdEncoding.EncodeToString(issued)))
	case http.StatusOK, http.StatusNoContent:
		issued = lp.newNonce()
		w.Header().Set("Authentication-Info", fmt.Sprintf(`nextnonce="%s"`,
			base64.StdEncoding.EncodeToString(issued)))
	}
	if body != nil {
		w.Header().Set("Content-Type", notifyContentType)
	}
	w.WriteHeader(status)
	w.Write(body)
	lp.events <- pollEvent{presented: presented, status: status, issued: issued}
}

// nextEvent returns the next long-poll request the server answered.
func (lp *longPollServer) nextEvent(t *testing.T) pollEvent {
	t.Helper()
	select {
	case e := <-lp.events:
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("the agent sent no further long-poll request")
		return pollEvent{}
	}
}

// runLongPollLoop runs the agent's long-poll loop until the test ends and
// records the failure counts it backs off for, waiting no time.
func runLongPollLoop(t *testing.T, ta *testAgent) <-chan int {
	failures := make(chan int)
	ctx, cancel := context.WithCancel(context.Background())
	ta.notify.backoff = func(n int) time.Duration {
		select {
		case failures <- n:
		case <-ctx.Done():
		}
		return 0
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ta.longPollLoop(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return failures
}

func TestLongPollReconnectsAndAnswersChallenges(t *testing.T) {
	srv, lp := newLongPollDMServer(t,
		pollAnswer{status: http.StatusNoContent},
		pollAnswer{status: http.StatusUnauthorized}, // the server forgot the nonce
		pollAnswer{status: http.StatusNoContent},
	)
	ta := newTestAgent(t, srv, func(c *Config) { c.NotifyLongPoll = true })
	failures := runLongPollLoop(t, ta)

	want := []struct {
		name       string
		status     int
		authorized bool
	}{
		{"first request, no nonce yet", http.StatusUnauthorized, false},
		{"retry with the challenge nonce", http.StatusNoContent, true},
		{"reconnect with nextnonce", http.StatusUnauthorized, true},
		{"retry with the fresh nonce", http.StatusNoContent, true},
		{"reconnect with nextnonce again", 0, true},
	}
	var previous pollEvent
	for i, w := range want {
		var e pollEvent
		if w.status != 0 {
			e = lp.nextEvent(t)
		} else {
			// The script is used up, so the server holds this request;
			// wait until its nonce is used up instead.
			waitNonceTaken(t, lp, previous.issued)
			e.presented = previous.issued
		}
		if e.status != w.status {
			t.Errorf("request %d (%s): status %d, want %d", i+1, w.name, e.status, w.status)
		}
		if !w.authorized {
			if e.presented != nil {
				t.Errorf("request %d (%s) sent a nonce it was never given", i+1, w.name)
			}
		} else if !bytes.Equal(e.presented, previous.issued) {
			t.Errorf("request %d (%s) used nonce %q, want %q from the previous answer",
				i+1, w.name, e.presented, previous.issued)
		}
		previous = e
	}
	select {
	case n := <-failures:
		t.Errorf("long-poll backed off after %d failures, want no failure", n)
	default:
	}
}

// waitNonceTaken waits until the agent has presented nonce to the server.
func waitNonceTaken(t *testing.T, lp *longPollServer, nonce []byte) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lp.mu.Lock()
		outstanding := lp.issued[string(nonce)]
		lp.mu.Unlock()
		if !outstanding {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent never used nonce %q", nonce)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLongPollBackoffResetsAfterSuccess(t *testing.T) {
	srv, lp := newLongPollDMServer(t,
		pollAnswer{status: http.StatusServiceUnavailable},
		pollAnswer{status: http.StatusNoContent},
		pollAnswer{status: http.StatusServiceUnavailable},
	)
	ta := newTestAgent(t, srv, func(c *Config) { c.NotifyLongPoll = true })
	failures := runLongPollLoop(t, ta)

	for i, want := range []int{1, 1} {
		select {
		case n := <-failures:
			if n != want {
				t.Errorf("backoff %d after %d consecutive failures, want %d", i+1, n, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no backoff %d; log:\n%s", i+1, ta.logs.String())
		}
	}
	// The 503 dropped the nonce, so the agent asked for a new one.
	var statuses []int
	for range 5 {
		statuses = append(statuses, lp.nextEvent(t).status)
	}
	want := []int{401, 503, 401, 204, 503}
	if !slices.Equal(statuses, want) {
		t.Errorf("long-poll statuses = %v, want %v", statuses, want)
	}
}

func TestLongPollServerDownBacksOff(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv, func(c *Config) { c.NotifyLongPoll = true })
	srv.srv.Close()
	failures := runLongPollLoop(t, ta)

	for want := 1; want <= 12; want++ {
		select {
		case n := <-failures:
			if n != want {
				t.Fatalf("backoff after %d consecutive failures, want %d", n, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no backoff after failure %d", want)
		}
	}
	// A failure that repeats is logged at most once per dropLogInterval.
	logs := ta.logs.String()
	if got := strings.Count(logs, "notification long-poll failed"); got != 1 {
		t.Errorf("log has %d long-poll failures after 12, want 1:\n%s", got, logs)
	}
	checkNoSecretsLogged(t, ta)
}

func TestNotifyBackoffGrowsBounded(t *testing.T) {
	previousMax := time.Duration(0)
	for failures := 1; failures <= 25; failures++ {
		ceiling := notifyMaxBackoff
		if failures < 20 {
			ceiling = min(notifyMinBackoff<<(failures-1), notifyMaxBackoff)
		}
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for range 200 {
			d := notifyBackoff(failures)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < ceiling/2 || hi > ceiling {
			t.Errorf("notifyBackoff(%d) ranged %s to %s, want %s to %s",
				failures, lo, hi, ceiling/2, ceiling)
		}
		if ceiling < notifyMaxBackoff && lo < previousMax {
			t.Errorf("notifyBackoff(%d) went down to %s, below %s after one failure fewer",
				failures, lo, previousMax)
		}
		previousMax = hi
	}
	if got := notifyBackoff(1); got > notifyMinBackoff {
		t.Errorf("notifyBackoff(1) = %s, want at most %s", got, notifyMinBackoff)
	}
}

func TestLongPollTriggerStartsNotifiedSession(t *testing.T) {
	const sessionID = 0x2B7
	startupDone := make(chan struct{})
	notifiedDone := make(chan struct{})
	var ta *testAgent
	storedNonce := func() []byte {
		acc, err := ta.Agent.account()
		if err != nil {
			t.Errorf("read the DM account: %v", err)
		}
		return acc.ServerNonce
	}
	srv, _ := newLongPollDMServer(t, pollAnswer{status: http.StatusOK, body: func() []byte {
		<-startupDone
		return newTrigger(t, sessionID, testServerID, storedNonce())
	}})
	ta = newTestAgent(t, srv, func(c *Config) {
		c.NotifyLongPoll = true
		c.PollInterval = time.Hour
		c.SyncInterval = time.Hour
	})

	var notified *syncml.Message
	srv.script(
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			defer close(startupDone)
			return serverMessage(in, storedNonce(), hdrStatus(in, 212, nil))
		},
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			defer close(notifiedDone)
			notified = in
			return serverMessage(in, storedNonce(), hdrStatus(in, 212, nil))
		},
	)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ta.Run(ctx) }()
	select {
	case <-notifiedDone:
	case <-time.After(30 * time.Second):
		t.Fatalf("no notified session; log:\n%s", ta.logs.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	srv.done()

	if got, want := notified.Header.SessionID, notification.SessionIDString(sessionID); got != want {
		t.Errorf("notified session has SessionID %q, want %q from the trigger", got, want)
	}
	alert := findCommand(notified, syncml.CmdAlert, "")
	if alert == nil {
		t.Fatal("notified session's Package 1 has no Alert")
	}
	if alert.Data != strconv.Itoa(syncml.AlertServerInitiated) {
		t.Errorf("notified session opens with Alert %s, want %d", alert.Data,
			syncml.AlertServerInitiated)
	}
	checkNoSecretsLogged(t, ta)
}

func TestUDPListenerAcceptsPushes(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv, func(c *Config) { c.NotifyUDP = "127.0.0.1:0" })
	conn, err := ta.listenNotifyUDP()
	if err != nil {
		t.Fatal(err)
	}
	addr, err := netip.ParseAddrPort(ta.notifyAddr)
	if err != nil {
		t.Fatalf("reported UDP address %q: %v", ta.notifyAddr, err)
	}
	if addr.Addr() != netip.MustParseAddr("127.0.0.1") || addr.Port() == 0 {
		t.Errorf("reported UDP address = %s, want 127.0.0.1 with the port the kernel chose", addr)
	}
	replace := ta.devInfoWithNotify(syncml.Command{Name: syncml.CmdReplace})
	if n := len(replace.Items); n != 1 || replace.Items[0].Source.LocURI != "./DevInfo/"+devInfoNotifyUDP ||
		replace.Items[0].Data.Value != ta.notifyAddr {
		t.Errorf("DevInfo Replace items = %+v, want ./DevInfo/%s = %s", replace.Items,
			devInfoNotifyUDP, ta.notifyAddr)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ta.serveNotifyUDP(ctx, conn)
	}()

	sender, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	nonce := ta.account(t).ServerNonce
	datagrams := [][]byte{
		notify.EncodePush(1, newTrigger(t, 0x31, testServerID, nonce)),
		[]byte("not a push"),
		notify.EncodePush(2, newTrigger(t, 0x31, testServerID, nonce)), // repeat
		notify.EncodePush(3, newTrigger(t, 0x32, testServerID, []byte("wrong-nonce"))),
		notify.EncodePush(4, newTrigger(t, 0x33, testServerID, nonce)),
	}
	for _, d := range datagrams {
		if _, err := sender.Write(d); err != nil {
			t.Fatalf("send datagram: %v", err)
		}
	}

	if id := receiveVerified(t, ta); id != "31" {
		t.Errorf("first accepted session id = %q, want 31", id)
	}
	if id := receiveVerified(t, ta); id != "33" {
		t.Errorf("second accepted session id = %q, want 33: the repeat, the garbage and the "+
			"bad digest must be dropped", id)
	}
	cancel()
	<-done

	logs := ta.logs.String()
	if !strings.Contains(logs, "drop notification datagram") {
		t.Errorf("log does not report the garbage datagram:\n%s", logs)
	}
	if !strings.Contains(logs, "digest does not match") {
		t.Errorf("log does not report the bad digest:\n%s", logs)
	}
	if strings.Contains(logs, "notification UDP socket failed") {
		t.Errorf("closing the socket at shutdown was logged as a failure:\n%s", logs)
	}
	checkNoSecretsLogged(t, ta, nonce)
}
