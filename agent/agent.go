package agent

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/mo/devinfo"
	"github.com/virmo/virmo/mo/virmo"
	"github.com/virmo/virmo/syncml"
)

// Defaults of Config.
const (
	DefaultPollInterval = 5 * time.Minute
	DefaultSyncInterval = 5 * time.Second
	// MaxBackoff is the longest wait between sessions after failures.
	MaxBackoff = 30 * time.Minute
	// minBackoff is the wait after the first failed session.
	minBackoff = 10 * time.Second
	// httpTimeout is the timeout of the default HTTP client.
	httpTimeout = 60 * time.Second
	// SocketName is the file name of the unlock socket in DataDir.
	SocketName = "unlock.sock"
)

// Config configures an Agent. DataDir and Driver are required.
type Config struct {
	// DataDir holds the agent's state (agent.db) and, by default, the
	// unlock socket. It is created with mode 0700 if missing; an existing
	// directory keeps its mode. The files in it get mode 0600, and New
	// sets an existing one that other users may read to 0600 with a
	// warning.
	DataDir string
	// Driver runs the VMs. The agent does not close it.
	Driver hypervisor.Driver
	// PollInterval is the time between client-initiated sessions;
	// 0 means DefaultPollInterval. After a failed session the agent
	// retries with exponential backoff and jitter, up to MaxBackoff.
	PollInterval time.Duration
	// SocketPath is the unlock socket; empty means DataDir/unlock.sock.
	SocketPath string
	// SocketGroup, a group name or numeric group ID, lets the members of
	// that group use the unlock socket: the socket gets that group and
	// mode 0660. Empty means mode 0600, for the agent's user only. The
	// group also needs search permission on the socket's directory.
	SocketGroup string
	// DevInfo overrides the DevInfo values field by field; an empty
	// DevID means the one Enroll stored, or a random urn:uuid.
	DevInfo devinfo.Info
	// HTTPClient sends DM messages; nil means a client with a 60 s
	// timeout.
	HTTPClient *http.Client
	// Logger receives the agent's logs; nil means slog.Default().
	Logger *slog.Logger
	// SyncInterval is the time between reconciliations of the tree with
	// the hypervisor (VM states, lock enforcement); 0 means
	// DefaultSyncInterval.
	SyncInterval time.Duration
	// NotifyLongPoll keeps a long-poll open at the server's /dm/notify,
	// which returns a Package #0 when the server has commands queued.
	NotifyLongPoll bool
	// NotifyUDP is the IP:port to receive Package #0 datagrams on; the
	// agent reports it to the server in DevInfo. Empty means no datagrams.
	NotifyUDP string
	// NotifyMinInterval is the minimum time between the starts of two
	// notified sessions; 0 means DefaultNotifyMinInterval.
	NotifyMinInterval time.Duration
	// MaxMsgSize and MaxObjSize, in bytes, are the largest message and the
	// largest object the agent accepts, advertised in every SyncHdr. Zero
	// means DefaultMaxMsgSize and DefaultMaxObjSize. The agent still reads
	// replies of up to 1 MiB, the decoder's limit.
	MaxMsgSize int
	MaxObjSize int
	// Encoding is the encoding of the DM messages the agent sends:
	// EncodingXML (also for "") or EncodingWBXML. Replies are decoded by
	// their Content-Type whatever this is.
	Encoding string
	// Auth is the credential type the agent expects its DM account to use:
	// AuthMD5, AuthHMAC or AuthBasic. Empty means the type the account was
	// enrolled with (DMAcc AAuthPref); any other value must match it, or
	// sessions fail.
	Auth string
}

// Agent is the VirMO Client: the management tree with its local state,
// the DM sessions with the server, the hypervisor reconciliation and the
// unlock socket.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	state *stateStore
	lock  *os.File
	tree  *dmtree.Tree
	mo    *virmo.MO
	info  devinfo.Info
	http  *http.Client

	sessionNow  chan struct{}
	alertQueued chan struct{}
	// notified carries the SessionID of a verified Package #0 to
	// sessionLoop; notify is nil when notifications are off, and
	// notifyAddr is the UDP address reported in DevInfo.
	notified   chan string
	notify     *notifier
	notifyAddr string

	closeOnce sync.Once
	// lastSyncErr is the message of the last failed reconciliation, empty
	// after a success. Only Run's goroutines use it, one at a time.
	lastSyncErr string
}

// New opens the agent's state in cfg.DataDir, builds the management tree
// (DevInfo, DevDetail, DMAcc, VirMO) from the stored snapshot and returns
// the agent, ready to Run. Only one agent may use a DataDir at a time.
// A missing DM account is not an error: sessions fail with ErrNotEnrolled
// until the device is enrolled. An account that no session can use is one:
// an auth type other than Config.Auth, an invalid server URL, or basic
// credentials to a URL other than https.
func New(cfg Config) (*Agent, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("agent: missing data directory: set the directory for the agent's state")
	}
	if cfg.Driver == nil {
		return nil, errors.New("agent: missing hypervisor driver: open a hypervisor driver first")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
		if notificationsOn(cfg) {
			cfg.PollInterval = DefaultNotifiedPollInterval
		}
	}
	if cfg.NotifyMinInterval <= 0 {
		cfg.NotifyMinInterval = DefaultNotifyMinInterval
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.MaxMsgSize <= 0 {
		cfg.MaxMsgSize = DefaultMaxMsgSize
	}
	if cfg.MaxObjSize <= 0 {
		cfg.MaxObjSize = DefaultMaxObjSize
	}
	if cfg.SocketPath == "" {
		cfg.SocketPath = filepath.Join(cfg.DataDir, SocketName)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: httpTimeout}
	}
	var err error
	if cfg.Encoding, err = checkEncoding(cfg.Encoding); err != nil {
		return nil, err
	}
	if cfg.Auth != "" {
		if _, err := checkAuth(cfg.Auth); err != nil {
			return nil, err
		}
	}

	st, lock, err := openDataDir(cfg.DataDir, cfg.Logger)
	if err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:         cfg,
		log:         cfg.Logger,
		state:       st,
		lock:        lock,
		http:        cfg.HTTPClient,
		sessionNow:  make(chan struct{}, 1),
		alertQueued: make(chan struct{}, 1),
		notified:    make(chan string, 1),
	}
	if notificationsOn(cfg) {
		a.notify = newNotifier(a)
	}
	if err := a.buildTree(); err != nil {
		a.Close()
		return nil, err
	}
	// A DM account that no session can use fails New, because otherwise
	// the agent would back off forever without reaching the server.
	if _, _, err := a.sessionAccount(); err != nil && !errors.Is(err, ErrNotEnrolled) {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close releases the state and the DataDir lock. Run closes the agent
// when it returns, so Close is needed only for an agent never run. Close
// may be called more than once.
func (a *Agent) Close() error {
	var err error
	a.closeOnce.Do(func() {
		err = a.state.close()
		a.lock.Close()
	})
	return err
}

// SessionNow requests a session at once, even while the agent waits after
// a failed one. It does not block, and a request made while another is
// pending is merged with it.
func (a *Agent) SessionNow() {
	select {
	case a.sessionNow <- struct{}{}:
	default:
	}
}

// persist is the tree's PersistFunc: the snapshot and the alerts of one
// commit go to the state in one transaction, then a session is requested
// to deliver the alerts.
func (a *Agent) persist(snapshot []byte, alerts []dmtree.Alert) error {
	if err := a.state.persist(snapshot, alerts); err != nil {
		return err
	}
	if len(alerts) > 0 {
		select {
		case a.alertQueued <- struct{}{}:
		default:
		}
	}
	return nil
}

// Run serves until ctx is done. It runs a session at start, every
// PollInterval and whenever an alert is queued. It reconciles the tree with
// the hypervisor every SyncInterval and serves the unlock socket. When ctx
// is done it stops, removes the socket, closes the state and returns nil.
// It returns an error when the unlock socket cannot be created or fails.
func (a *Agent) Run(ctx context.Context) error {
	defer a.Close()

	ln, err := a.listenUnlock()
	if err != nil {
		return err
	}

	udp, err := a.listenNotifyUDP()
	if err != nil {
		ln.Close()
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	a.log.Info("agent started", "devid", a.info.DevID, "socket", a.cfg.SocketPath,
		"poll", a.cfg.PollInterval, "sync", a.cfg.SyncInterval)
	a.reconcile(ctx)

	var wg sync.WaitGroup
	var serveErr error
	wg.Go(func() {
		serveErr = a.serveUnlock(ctx, ln)
		if serveErr != nil {
			cancel()
		}
	})
	wg.Go(func() { a.reconcileLoop(ctx) })
	wg.Go(func() { a.sessionLoop(ctx) })
	if a.notify != nil {
		wg.Go(func() { a.notify.dispatch(ctx) })
	}
	if a.cfg.NotifyLongPoll {
		wg.Go(func() { a.longPollLoop(ctx) })
	}
	if udp != nil {
		wg.Go(func() { a.serveNotifyUDP(ctx, udp) })
	}
	wg.Wait()

	a.log.Info("agent stopped")
	return serveErr
}

// reconcileLoop brings the tree in line with the hypervisor every
// SyncInterval.
func (a *Agent) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.reconcile(ctx)
		}
	}
}

// reconcile runs one reconciliation. A failure is logged when its message
// differs from the previous one, so a hypervisor that stays down does not
// fill the log every SyncInterval.
func (a *Agent) reconcile(ctx context.Context) {
	err := a.mo.Sync(ctx)
	if ctx.Err() != nil {
		return
	}
	switch {
	case err != nil && err.Error() != a.lastSyncErr:
		a.log.Warn("reconcile VMs with the hypervisor failed; retrying every sync interval",
			"err", err)
		a.lastSyncErr = err.Error()
	case err == nil && a.lastSyncErr != "":
		a.log.Info("reconcile VMs with the hypervisor works again")
		a.lastSyncErr = ""
	}
}

// sessionLoop runs the sessions: one at start, then one every PollInterval
// after a success, and after failures one after a growing, jittered
// backoff. SessionNow starts one at once; a queued alert starts one at
// once unless the agent is backing off after a failure.
func (a *Agent) sessionLoop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	notEnrolledLogged := false
	lastErr := ""

	for {
		alertCode, sessionID := syncml.AlertClientInitiated, ""
		select {
		case <-ctx.Done():
			return
		case sessionID = <-a.notified:
			alertCode = syncml.AlertServerInitiated
		case <-a.sessionNow:
		case <-a.alertQueued:
			if failures > 0 || !a.hasQueuedAlerts() {
				continue
			}
		case <-timer.C:
		}

		err := a.runSessionWithID(ctx, alertCode, sessionID)
		if ctx.Err() != nil {
			return
		}

		next := a.cfg.PollInterval
		switch {
		case err == nil:
			failures = 0
			notEnrolledLogged = false
			lastErr = ""
		case errors.Is(err, ErrNotEnrolled):
			if !notEnrolledLogged {
				a.log.Warn("no DM sessions until the device is enrolled", "err", err)
				notEnrolledLogged = true
			}
			failures++
			next = backoff(failures)
		default:
			failures++
			next = backoff(failures)
			a.logBackoff(err, failures, next, &lastErr)
		}
		timer.Reset(next)
	}
}

// backoffLogEvery is the interval, in consecutive failures, at which a
// repeated session error is logged at info level again.
const backoffLogEvery = 10

// logBackoff logs the wait after a failed session with its error. A new
// error is logged at warn level, and a repeat of the previous one only at
// debug level, except every backoffLogEvery failures. lastErr holds the
// previous error's message.
func (a *Agent) logBackoff(err error, failures int, wait time.Duration, lastErr *string) {
	msg := err.Error()
	switch {
	case msg != *lastErr:
		a.log.Warn("DM session failed; next one after backoff", "failures", failures,
			"wait", wait, "err", err)
	case failures%backoffLogEvery == 0:
		a.log.Info("DM session failed again; next one after backoff", "failures", failures,
			"wait", wait, "err", err)
	default:
		a.log.Debug("DM session failed again; next one after backoff", "failures", failures,
			"wait", wait, "err", err)
	}
	*lastErr = msg
}

// hasQueuedAlerts reports whether an alert waits for delivery.
func (a *Agent) hasQueuedAlerts() bool {
	pending, err := a.state.pendingAlerts()
	if err != nil {
		a.log.Warn("check the alert queue", "err", err)
		return true
	}
	return len(pending) > 0
}

// backoff returns the wait after the given number of consecutive failed
// sessions: minBackoff doubled per failure up to MaxBackoff, then a random
// value between half of that and all of it, so agents that failed together
// do not retry together.
func backoff(failures int) time.Duration {
	d := MaxBackoff
	if failures < 20 {
		d = min(minBackoff<<(failures-1), MaxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}
