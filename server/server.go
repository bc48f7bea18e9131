// Package server is the VirMO Server core: the REST API of docs/api.md,
// enrollment, the lock service with its per-VM state machine, and the hooks
// the DM session engine (package dmsession) reports device results through.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/virmo/virmo/server/notify"
	"github.com/virmo/virmo/server/seal"
	"github.com/virmo/virmo/store"
)

// Defaults of Config.
const (
	DefaultServerID         = "virmo"
	DefaultMaxAttempts      = 5
	DefaultCommandRetention = 7 * 24 * time.Hour
	DefaultSessionRetention = 24 * time.Hour
	DefaultPruneInterval    = 10 * time.Minute
)

// Config configures a Server.
type Config struct {
	// DataDir contains the key file secret.key, the admin token file
	// admin.token and the lock file server.lock. New creates it with mode
	// 0700 when it is missing.
	DataDir string
	Store   store.Store
	// PublicURL is the base URL devices and operators reach the server at,
	// for example http://127.0.0.1:8080; devices get PublicURL + "/dm".
	PublicURL string
	// ServerID is the DMAcc ServerID devices know the server by
	// (default "virmo").
	ServerID string
	Logger   *slog.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// MaxAttempts bounds how often a command is sent before it fails
	// (default 5).
	MaxAttempts int
	// CommandRetention is how long finished commands stay in the queue.
	// SessionRetention is how long idle DM session state is kept. The
	// pruning loop runs every PruneInterval. Zero means the default.
	CommandRetention time.Duration
	SessionRetention time.Duration
	PruneInterval    time.Duration
	// Waker carries notification wake-ups to the replica holding a
	// device's long-poll; nil means an in-process hub (one replica).
	Waker notify.Waker
	// NotifyHold is how long GET /dm/notify stays open without a
	// wake-up; 0 means notify.DefaultHold (55 s).
	NotifyHold time.Duration
	// NotifyUDPAllow lists the prefixes Package #0 datagrams may go to;
	// nil means loopback only. DisableNotifyUDP turns datagrams off.
	NotifyUDPAllow   []netip.Prefix
	DisableNotifyUDP bool
}

// Server is a VirMO Server. New starts its pruning loop and Close stops
// it; Close does not close the store.
type Server struct {
	store    store.Store
	sealer   *seal.Sealer
	logger   *slog.Logger
	now      func() time.Time
	dataDir  string
	dataLock *os.File
	baseURL  string
	serverID string
	dmURL    string

	maxAttempts      int
	commandRetention time.Duration
	sessionRetention time.Duration

	dm       http.Handler
	handler  http.Handler
	notifier *notify.Notifier

	stopPrune context.CancelFunc
	pruneDone sync.WaitGroup
	closeOnce sync.Once
}

// New loads or creates the key file DataDir/secret.key, builds the DM
// session engine and starts the pruning loop. It locks DataDir/server.lock
// until Close, so a second server on the same DataDir fails. It rejects a
// key file other users can read.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: Config.Store is nil")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("server: Config.DataDir is empty; set it to the server's data directory")
	}
	if err := checkPublicURL(cfg.PublicURL); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: create data directory: %w", err)
	}
	dataLock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	started := false
	defer func() {
		if !started {
			dataLock.Close()
		}
	}()

	key, err := seal.LoadOrCreateKey(filepath.Join(cfg.DataDir, "secret.key"))
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	sealer, err := seal.New(key)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}

	s := &Server{
		store:            cfg.Store,
		sealer:           sealer,
		logger:           cfg.Logger,
		now:              cfg.Now,
		dataDir:          cfg.DataDir,
		dataLock:         dataLock,
		baseURL:          strings.TrimRight(cfg.PublicURL, "/"),
		serverID:         cfg.ServerID,
		maxAttempts:      cfg.MaxAttempts,
		commandRetention: cfg.CommandRetention,
		sessionRetention: cfg.SessionRetention,
	}
	s.applyDefaults()
	s.dmURL = s.baseURL + "/dm"
	if err := s.newNotifier(cfg); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.dm = s.newDMHandler()
	s.handler = s.routes()

	pruneCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopPrune = cancel
	interval := cfg.PruneInterval
	if interval <= 0 {
		interval = DefaultPruneInterval
	}
	s.pruneDone.Add(1)
	go s.pruneLoop(pruneCtx, interval)
	started = true
	return s, nil
}

// checkPublicURL rejects a public URL that devices could not use as the
// base of their DM URL.
func checkPublicURL(raw string) error {
	const form = "use an absolute URL of the form http(s)://host[:port][/path] " +
		"(virmo server --public-url), " +
		"for example http://127.0.0.1:8080"
	if raw == "" {
		return fmt.Errorf("public URL is empty; %s", form)
	}
	if strings.IndexFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("invalid public URL %q: it contains whitespace or a control "+
			"character; %s", raw, form)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid public URL %q: %v; %s", raw, err, form)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("invalid public URL %q: scheme %q is not http or https; %s",
			raw, u.Scheme, form)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("invalid public URL %q: no host; %s", raw, form)
	case u.User != nil:
		return fmt.Errorf("invalid public URL %q: user information is not allowed; %s", raw, form)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("invalid public URL %q: a query or fragment is not allowed; %s",
			raw, form)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("invalid public URL %q: port %q is not 1 to 65535; %s",
				raw, port, form)
		}
	}
	return nil
}

func (s *Server) applyDefaults() {
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.serverID == "" {
		s.serverID = DefaultServerID
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = DefaultMaxAttempts
	}
	if s.commandRetention <= 0 {
		s.commandRetention = DefaultCommandRetention
	}
	if s.sessionRetention <= 0 {
		s.sessionRetention = DefaultSessionRetention
	}
}

// Handler returns the server's HTTP handler: /dm (the DM session engine),
// /dm/notify (the notification long-poll), /api/v1/... (the REST API) and
// /healthz.
func (s *Server) Handler() http.Handler {
	return s.handler
}

// DMURL returns the URL devices open DM sessions at (PublicURL + "/dm").
func (s *Server) DMURL() string {
	return s.dmURL
}

// Shutdown ends every long-poll held on GET /dm/notify at once (each gets
// 204 with its next nonce), rejects later long-polls with 503, and waits
// for their handlers until ctx is done. Call it before
// http.Server.Shutdown, which otherwise waits up to the hold time (55 s
// by default) for each long-poll, and call Close after that. Shutdown
// leaves /dm and /api/v1 serving.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.notifier.Shutdown(ctx); err != nil {
		return fmt.Errorf("end held long-polls: %w", err)
	}
	return nil
}

// Close ends held long-polls as Shutdown does (without waiting for their
// handlers), stops the pruning loop, waits for it and releases the lock on
// DataDir. It does not close the store, which the caller opened.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stopPrune()
		s.pruneDone.Wait()
		s.notifier.Close()
		s.dataLock.Close()
	})
	return nil
}

// Prune deletes finished commands older than the command retention and
// DM session state older than the session retention. The pruning loop
// calls it; it is exported for tests and maintenance commands.
func (s *Server) Prune(ctx context.Context) error {
	now := s.now()
	commands, err := s.store.PruneCommands(ctx, now.Add(-s.commandRetention))
	if err != nil {
		return fmt.Errorf("prune commands: %w", err)
	}
	sessions, err := s.store.DeleteSessionsBefore(ctx, now.Add(-s.sessionRetention))
	if err != nil {
		return fmt.Errorf("prune sessions: %w", err)
	}
	if commands > 0 || sessions > 0 {
		s.logger.Info("pruned store", "commands", commands, "sessions", sessions)
	}
	return nil
}

func (s *Server) pruneLoop(ctx context.Context, interval time.Duration) {
	defer s.pruneDone.Done()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if err := s.Prune(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("prune store", "err", err)
		}
	}
}

// nowUTC returns the configured clock's time in UTC.
func (s *Server) nowUTC() time.Time {
	return s.now().UTC()
}
