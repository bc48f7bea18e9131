package agent

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/mo/dmacc"
	"github.com/virmo/virmo/notification"
	"github.com/virmo/virmo/syncml"
)

// Defaults of the notification settings of Config.
const (
	// DefaultNotifiedPollInterval is the default PollInterval when
	// notifications are on: polling is then only a fallback.
	DefaultNotifiedPollInterval = time.Hour
	// DefaultNotifyMinInterval is the default minimum time between the
	// starts of two notified sessions.
	DefaultNotifyMinInterval = time.Second
	// notifyWait is the hold time, in seconds, that the agent requests for
	// a long-poll. It stays below the 60 s timeout of the default HTTP client.
	notifyWait = 50
	// Backoff of long-poll reconnects after failures.
	notifyMinBackoff = time.Second
	notifyMaxBackoff = 5 * time.Minute
	// maxNotificationSize bounds a Package #0 read from either transport:
	// a 255-byte server id plus header, digest and some vendor bytes.
	maxNotificationSize = 1024
	// notifyDedupWindow is how long a trigger's session id counts as seen,
	// so the same trigger over both transports starts one session.
	notifyDedupWindow = time.Minute
	// serverNonceHistory is how many replaced server nonces a trigger may
	// still be keyed with: the server may build it just before it receives
	// the nonce that replaced its copy.
	serverNonceHistory = 4
)

// Values of the long-poll protocol of the server's /dm/notify.
const (
	notifyPathSuffix  = "/notify"
	notifyAuthScheme  = "SyncML-MD5"
	notifyContentType = "application/vnd.syncml.notification"
	devInfoNotifyUDP  = "Ext/NotifyUDP"
)

// notifier is the agent's side of Package #0: it verifies triggers from
// both transports and hands the session ids of good ones to sessionLoop.
type notifier struct {
	a        *Agent
	verified chan string

	// backoff returns the wait before the next long-poll after the given
	// number of consecutive failures: notifyBackoff outside tests.
	backoff func(failures int) time.Duration

	// logs rate-limits the lines about dropped notifications and failed
	// long-polls, which a peer can cause at any rate.
	logs *logLimiter

	mu     sync.Mutex
	seen   map[uint16]time.Time
	nonces [][]byte
}

func newNotifier(a *Agent) *notifier {
	return &notifier{
		a:        a,
		verified: make(chan string, 8),
		backoff:  notifyBackoff,
		logs:     newLogLimiter(dropLogInterval),
		seen:     map[uint16]time.Time{},
	}
}

// notificationsOn reports whether cfg turns on any notification transport.
func notificationsOn(cfg Config) bool {
	return cfg.NotifyLongPoll || cfg.NotifyUDP != ""
}

// rememberServerNonce keeps a server nonce the agent replaced, so a trigger
// keyed with it still verifies for a while.
func (a *Agent) rememberServerNonce(nonce []byte) {
	if a.notify == nil || len(nonce) == 0 {
		return
	}
	n := a.notify
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nonces = append(n.nonces, append([]byte(nil), nonce...))
	if len(n.nonces) > serverNonceHistory {
		n.nonces = n.nonces[len(n.nonces)-serverNonceHistory:]
	}
}

// devInfoWithNotify adds the UDP address of Package #0 datagrams to the
// DevInfo Replace, so the server stores where to send them.
func (a *Agent) devInfoWithNotify(cmd syncml.Command) syncml.Command {
	if a.notifyAddr == "" {
		return cmd
	}
	cmd.Items = append(cmd.Items, syncml.Item{
		Source: &syncml.Locator{LocURI: "./DevInfo/" + devInfoNotifyUDP},
		Data:   syncml.NewData(a.notifyAddr),
	})
	return cmd
}

// verifyTrigger decodes a Package #0 and verifies it against the DM
// account: the ServerID must be the account's, and the digest must be keyed
// with the server password and the stored server nonce, the fallback nonce
// or one of the replaced server nonces. usedFallback reports that only the
// fallback nonce matched. The error never contains a digest or nonce.
func verifyTrigger(msg []byte, acc dmacc.Account, replaced [][]byte) (
	t notification.Trigger, usedFallback bool, err error) {
	t, _, err = notification.Decode(msg)
	if err != nil {
		return notification.Trigger{}, false, err
	}
	if t.ServerID != acc.ServerID {
		return notification.Trigger{}, false, fmt.Errorf(
			"trigger is for server %q, the DM account is for %q", t.ServerID, acc.ServerID)
	}
	usedFallback, ok := notification.VerifyWithFallback(msg, acc.ServerPassword, acc.ServerNonce)
	for _, nonce := range replaced {
		ok = ok || notification.Verify(msg, acc.ServerPassword, nonce)
	}
	if !ok {
		return notification.Trigger{}, false, errors.New(
			"trigger digest does not match the server password and nonce")
	}
	return t, usedFallback, nil
}

// checkTrigger verifies a Package #0 against the DM account and the server
// nonces the agent replaced recently. It returns the trigger, or an error
// saying why the trigger is dropped.
func (n *notifier) checkTrigger(msg []byte, acc dmacc.Account) (notification.Trigger, error) {
	n.mu.Lock()
	replaced := slices.Clone(n.nonces)
	n.mu.Unlock()

	t, usedFallback, err := verifyTrigger(msg, acc, replaced)
	if err != nil {
		return notification.Trigger{}, err
	}
	if usedFallback {
		// NOTE: the session still authenticates with the stored nonces.
		// A server that lost them challenges with fresh ones.
		n.a.log.Info("notification verified with the fallback nonce", "server", acc.ServerID)
	}
	return t, nil
}

// firstSeen records that a trigger for sessionID arrived at now. It returns
// false when one for the same sessionID arrived within notifyDedupWindow
// before, and deletes the session ids older than the window.
func (n *notifier) firstSeen(sessionID uint16, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if last, ok := n.seen[sessionID]; ok && now.Sub(last) < notifyDedupWindow {
		return false
	}
	for sid, at := range n.seen {
		if now.Sub(at) >= notifyDedupWindow {
			delete(n.seen, sid)
		}
	}
	n.seen[sessionID] = now
	return true
}

// handle verifies one Package #0 and queues its session. An invalid
// trigger is logged and dropped. A repeat of a trigger seen within
// notifyDedupWindow is dropped silently.
func (n *notifier) handle(msg []byte, transport string) {
	log := n.a.log.With("transport", transport)
	acc, err := n.a.account()
	if err != nil {
		n.logDrop(log, "drop notification: no DM account", err)
		return
	}
	t, err := n.checkTrigger(msg, acc)
	if err != nil {
		n.logDrop(log, "drop notification", err)
		return
	}
	if !n.firstSeen(t.SessionID, time.Now()) {
		return
	}
	id := notification.SessionIDString(t.SessionID)

	select {
	case n.verified <- id:
		log.Info("notification accepted", "session", id)
	default:
		log.Warn("drop notification: too many are waiting for a session", "session", id)
	}
}

// logDrop logs a dropped notification at most once per dropLogInterval for
// each message and error, with the count of drops since the last line.
func (n *notifier) logDrop(log *slog.Logger, msg string, err error, args ...any) {
	ok, count := n.logs.allow(msg+": "+err.Error(), time.Now())
	if !ok {
		return
	}
	log.Warn(msg, append(args, "err", err, "dropped", count)...)
}

// dispatch passes verified session ids to sessionLoop, at most one per
// NotifyMinInterval. Ids that wait are kept in order, not dropped. An id
// not yet taken by sessionLoop is replaced by a newer one, because one
// session delivers the whole queue.
func (n *notifier) dispatch(ctx context.Context) {
	var last time.Time
	for {
		var id string
		select {
		case <-ctx.Done():
			return
		case id = <-n.verified:
		}
		if wait := time.Until(last.Add(n.a.cfg.NotifyMinInterval)); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		select {
		case <-n.a.notified:
		default:
		}
		n.a.notified <- id
	}
}

// account reads the DM account from the tree.
func (a *Agent) account() (dmacc.Account, error) {
	var acc dmacc.Account
	err := a.tree.View(func(tx *dmtree.Tx) error {
		var err error
		acc, err = dmacc.Read(tx)
		return err
	})
	if errors.Is(err, dmacc.ErrNoAccount) {
		return acc, ErrNotEnrolled
	}
	return acc, err
}

// listenNotifyUDP opens the UDP socket of Package #0 datagrams when
// NotifyUDP is set. It returns nil otherwise.
func (a *Agent) listenNotifyUDP() (*net.UDPConn, error) {
	if a.cfg.NotifyUDP == "" {
		return nil, nil
	}
	ap, err := netip.ParseAddrPort(a.cfg.NotifyUDP)
	if err != nil {
		return nil, fmt.Errorf("invalid notification UDP address %q: use IP:port, "+
			"for example 127.0.0.1:2948", a.cfg.NotifyUDP)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, fmt.Errorf("listen for notifications on UDP %s: %w", ap, err)
	}
	a.notifyAddr = conn.LocalAddr().(*net.UDPAddr).AddrPort().String()
	return conn, nil
}

// serveNotifyUDP reads datagrams until ctx is done and closes conn.
func (a *Agent) serveNotifyUDP(ctx context.Context, conn *net.UDPConn) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, maxNotificationSize+64)
	for {
		size, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Error("notification UDP socket failed, so only polling and the "+
					"long-poll wake the agent now", "err", err)
			}
			return
		}
		msg, err := parsePush(buf[:size])
		if err != nil {
			a.notify.logDrop(a.log, "drop notification datagram", err, "from", from)
			continue
		}
		a.notify.handle(msg, "udp")
	}
}

// longPollLoop keeps a long-poll open at the server until ctx is done. It
// reconnects at once after a response and after an exponential, jittered
// backoff after a failure.
func (a *Agent) longPollLoop(ctx context.Context) {
	var nonce []byte
	failures := 0
	for ctx.Err() == nil {
		msg, next, err := a.longPoll(ctx, nonce)
		nonce = next
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			wait := a.notify.backoff(failures)
			if ok, count := a.notify.logs.allow("long-poll: "+err.Error(), time.Now()); ok {
				a.log.Info("notification long-poll failed; reconnecting after backoff",
					"failures", failures, "wait", wait, "err", err, "failed", count)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			continue
		}
		if failures > 0 {
			a.log.Info("notification long-poll works again", "failures", failures)
		}
		failures = 0
		if msg != nil {
			a.notify.handle(msg, "long-poll")
		}
	}
}

// notifyBackoff returns the wait after the given number of consecutive
// long-poll failures, between half of and all of notifyMinBackoff doubled
// per failure, capped at notifyMaxBackoff.
func notifyBackoff(failures int) time.Duration {
	d := notifyMaxBackoff
	if failures < 20 {
		d = min(notifyMinBackoff<<(failures-1), notifyMaxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

// longPoll runs one long-poll request and retries once after a 401 with the
// nonce the 401 carries. A request without a nonce names the device only, so
// the first 401 is expected and not a failure. It returns the Package #0 (nil
// on 204) and the nonce for the next request.
func (a *Agent) longPoll(ctx context.Context, nonce []byte) (msg, next []byte, err error) {
	acc, err := a.account()
	if err != nil {
		return nil, nil, err
	}
	url := strings.TrimRight(acc.ServerURL, "/") + notifyPathSuffix +
		fmt.Sprintf("?wait=%d", notifyWait)

	for attempt := 0; ; attempt++ {
		resp, err := a.longPollRequest(ctx, url, acc, nonce)
		if err != nil {
			return nil, nil, err
		}
		body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxNotificationSize+1))
		resp.Body.Close()

		switch resp.StatusCode {
		case http.StatusUnauthorized:
			fresh := headerParam(resp.Header.Get("WWW-Authenticate"), "nonce")
			if fresh == nil {
				return nil, nil, fmt.Errorf("long-poll %s returned HTTP 401 without a nonce "+
					"in WWW-Authenticate", url)
			}
			if attempt > 0 {
				// The request was signed with the nonce the server had
				// just issued, so the credentials themselves are wrong.
				return nil, fresh, fmt.Errorf("server rejected the long-poll credentials " +
					"signed with a fresh nonce (HTTP 401); re-enroll the device if its " +
					"account was reset")
			}
			nonce = fresh
			continue
		case http.StatusNoContent, http.StatusOK:
		default:
			return nil, nil, fmt.Errorf("long-poll %s returned HTTP %s", url, resp.Status)
		}

		next = headerParam(resp.Header.Get("Authentication-Info"), "nextnonce")
		if resp.StatusCode == http.StatusNoContent {
			return nil, next, nil
		}
		if readErr != nil {
			return nil, next, fmt.Errorf("read notification from %s: %w", url, readErr)
		}
		if len(body) > maxNotificationSize {
			return nil, next, fmt.Errorf("notification from %s exceeds %d bytes", url, maxNotificationSize)
		}
		return body, next, nil
	}
}

func (a *Agent) longPollRequest(ctx context.Context, url string, acc dmacc.Account,
	nonce []byte) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, (notifyWait+30)*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("build long-poll request to %s: %w", url, err)
	}
	req.Header.Set("Accept", notifyContentType)
	req.Header.Set("Cache-Control", "no-store")
	if nonce != nil {
		req.Header.Set("Authorization", fmt.Sprintf(
			`%s devid=%q, username=%q, nonce="%s", digest="%s"`, notifyAuthScheme,
			a.info.DevID, acc.ClientUser, base64.StdEncoding.EncodeToString(nonce),
			dmauth.MD5Digest(acc.ClientUser, acc.ClientPassword, nonce)))
	} else {
		// Without a nonce the request only names the device, so the
		// server's 401 carries a nonce it stores for this device.
		req.Header.Set("Authorization", fmt.Sprintf(`%s devid=%q`, notifyAuthScheme, a.info.DevID))
	}
	resp, err := a.http.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("long-poll %s: %w", url, err)
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

// cancelOnClose cancels the request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// headerParam returns the base64 parameter key="..." of an authentication
// header, or nil when it is missing or not base64.
func headerParam(header, key string) []byte {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if i := strings.IndexByte(part, ' '); i >= 0 && !strings.Contains(part[:i], "=") {
			part = strings.TrimSpace(part[i+1:]) // skip the scheme
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), key) {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) == 0 {
			return nil
		}
		return b
	}
	return nil
}
