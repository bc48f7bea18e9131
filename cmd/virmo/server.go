package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/virmo/virmo/internal/tlsutil"
	"github.com/virmo/virmo/server"
	"github.com/virmo/virmo/server/notify"
	"github.com/virmo/virmo/store/sqlite"
)

type serverOptions struct {
	dataDir   string
	listen    string
	publicURL string
	serverID  string
	tls       tlsServerOptions
	// notifyHold and notifyUDPAllow configure Package #0 notifications.
	notifyHold     time.Duration
	notifyUDPAllow []string
}

// tlsServerOptions selects HTTPS for the server; an empty certFile means
// plain HTTP.
type tlsServerOptions struct {
	certFile          string
	keyFile           string
	clientCAFile      string
	requireClientCert bool
}

func newServerCommand(g *globalOptions) *cobra.Command {
	opts := &serverOptions{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the VirMO Server (OMA DM endpoint, REST API, device registry)",
		Long: `Run the VirMO Server. It serves OMA DM sessions at /dm, the REST API at
/api/v1 and a health check at /healthz, and keeps its state in SQLite under
--data. On first start it creates DATA/secret.key (the key that seals unlock
secrets and device passwords) and DATA/admin.token (the operator token).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(opts.serverID) == "" {
				return errors.New("--server-id is empty: give the OMA DM ServerID, or leave the flag out for \"virmo\"")
			}
			logger, err := g.newLogger()
			if err != nil {
				return err
			}
			return runServer(cmd.Context(), logger, opts)
		},
	}
	cmd.Flags().StringVar(&opts.dataDir, "data", "virmo-server",
		"directory for the database, the key file and the admin token")
	cmd.Flags().StringVar(&opts.listen, "listen", "127.0.0.1:8080",
		"TCP address (host:port) to serve HTTP on")
	cmd.Flags().StringVar(&opts.publicURL, "public-url", "",
		"base URL devices and operators reach the server at (default: http://LISTEN)")
	cmd.Flags().StringVar(&opts.serverID, "server-id", "virmo",
		"OMA DM ServerID this server gives devices at enrollment")
	cmd.Flags().DurationVar(&opts.notifyHold, "notify-hold", notify.DefaultHold,
		"how long GET /dm/notify stays open without a wake-up, at most 55s "+
			"(below the 60 s write timeout)")
	cmd.Flags().StringSliceVar(&opts.notifyUDPAllow, "notify-udp-allow", nil,
		"network prefix (CIDR) Package #0 datagrams may be sent to, repeatable "+
			"(default loopback only)")
	cmd.Flags().StringVar(&opts.tls.certFile, "tls-cert", "",
		"PEM certificate file; with --tls-key the server serves HTTPS")
	cmd.Flags().StringVar(&opts.tls.keyFile, "tls-key", "",
		"PEM private key file of --tls-cert")
	cmd.Flags().StringVar(&opts.tls.clientCAFile, "tls-client-ca", "",
		"PEM CA file that client certificates are verified against (optional)")
	cmd.Flags().BoolVar(&opts.tls.requireClientCert, "tls-require-client-cert", false,
		"reject HTTPS clients without a certificate signed by --tls-client-ca")
	return cmd
}

func runServer(ctx context.Context, logger *slog.Logger, opts *serverOptions) error {
	if err := opts.tls.check(); err != nil {
		return err
	}
	listener, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another --listen address)", opts.listen, err)
	}
	running, err := startServer(ctx, logger, opts, listener)
	if err != nil {
		listener.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "VirMO Server listening on %s\n", running.listenURL)
	if running.baseURL != running.listenURL {
		fmt.Fprintf(os.Stderr, "public URL: %s\n", running.baseURL)
	}
	fmt.Fprintf(os.Stderr, "admin token: %s\n", filepath.Join(opts.dataDir, "admin.token"))
	<-ctx.Done()
	return running.shutdown()
}

// check rejects TLS flags that are incomplete or that would have no
// effect because the server serves plain HTTP.
func (o tlsServerOptions) check() error {
	switch {
	case o.certFile != "" && o.keyFile == "":
		return errors.New("--tls-key is missing: --tls-cert needs the key file")
	case o.keyFile != "" && o.certFile == "":
		return errors.New("--tls-cert is missing: --tls-key needs the certificate file")
	case o.certFile == "" && o.clientCAFile != "":
		return errors.New("--tls-client-ca needs --tls-cert and --tls-key: " +
			"without them the server serves plain HTTP and verifies no client certificate")
	case o.certFile == "" && o.requireClientCert:
		return errors.New("--tls-require-client-cert needs --tls-cert and --tls-key: " +
			"without them the server serves plain HTTP and verifies no client certificate")
	case o.requireClientCert && o.clientCAFile == "":
		return errors.New("--tls-require-client-cert needs --tls-client-ca, the CA that client certificates are verified against")
	}
	return nil
}

// runningServer is a started server and what it takes to stop it.
type runningServer struct {
	srv *server.Server
	// listenURL is the scheme and address the listener serves; baseURL is
	// the public URL, which --public-url may set to another one.
	listenURL string
	baseURL   string
	token     string
	shutdown  func() error
}

// startServer opens the store, builds the server and serves it on listener
// until shutdown is called.
func startServer(ctx context.Context, logger *slog.Logger, opts *serverOptions,
	listener net.Listener) (*runningServer, error) {
	if err := os.MkdirAll(opts.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	scheme := "http"
	if opts.tls.certFile != "" || opts.tls.keyFile != "" {
		tlsConfig, err := tlsutil.ServerConfig(opts.tls.certFile, opts.tls.keyFile,
			opts.tls.clientCAFile, opts.tls.requireClientCert)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		listener = tls.NewListener(listener, tlsConfig)
		scheme = "https"
	}
	listenURL := scheme + "://" + listener.Addr().String()
	baseURL := opts.publicURL
	if baseURL == "" {
		baseURL = listenURL
	}

	udpAllow, err := parseUDPAllow(opts)
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(opts.dataDir, "server.db"))
	if err != nil {
		return nil, err
	}
	srv, err := server.New(ctx, server.Config{
		DataDir:        opts.dataDir,
		Store:          st,
		PublicURL:      baseURL,
		ServerID:       opts.serverID,
		Logger:         logger,
		NotifyHold:     opts.notifyHold,
		NotifyUDPAllow: udpAllow,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	token, err := srv.EnsureAdminToken(ctx)
	if err != nil {
		srv.Close()
		st.Close()
		return nil, err
	}

	httpServer := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		// net/http logs TLS handshake and accept errors here, so they
		// follow --log-format and --log-level like every other line.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(listener) }()
	if err := os.WriteFile(filepath.Join(opts.dataDir, "server.url"), []byte(baseURL+"\n"), 0o600); err != nil {
		logger.Warn("write server.url", "err", err)
	}
	logger.Info("server started", "listen", listenURL, "url", baseURL, "data", opts.dataDir)

	shutdown := func() error {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Held notification long-polls end first; http.Server.Shutdown would
		// otherwise wait for them until its deadline.
		err := srv.Shutdown(shutdownCtx)
		err = errors.Join(err, httpServer.Shutdown(shutdownCtx))
		if serr := <-serveErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		err = errors.Join(err, srv.Close(), st.Close())
		if err == nil {
			logger.Info("server stopped", "data", opts.dataDir)
		}
		return err
	}
	return &runningServer{srv: srv, listenURL: listenURL, baseURL: baseURL, token: token,
		shutdown: shutdown}, nil
}

// parseUDPAllow checks --notify-hold and parses --notify-udp-allow; nil
// means the server's default (loopback only).
func parseUDPAllow(opts *serverOptions) ([]netip.Prefix, error) {
	if opts.notifyHold > notify.DefaultHold {
		return nil, fmt.Errorf("--notify-hold %s exceeds %s, the longest a reply may wait "+
			"under the 60 s write timeout", opts.notifyHold, notify.DefaultHold)
	}
	var prefixes []netip.Prefix
	for _, raw := range opts.notifyUDPAllow {
		p, err := netip.ParsePrefix(raw)
		if err != nil {
			return nil, fmt.Errorf("--notify-udp-allow %q: use a CIDR prefix such as 10.0.0.0/8", raw)
		}
		prefixes = append(prefixes, p.Masked())
	}
	return prefixes, nil
}
