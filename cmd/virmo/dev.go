package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/virmo/virmo/apiclient"
	"github.com/virmo/virmo/internal/tlsutil"
)

type devOptions struct {
	dataDir  string
	listen   string
	poll     time.Duration
	tls      bool
	encoding string
	auth     string
	// socketGroup is the group of the dev agent's unlock socket.
	socketGroup string
}

func newDevCommand(g *globalOptions) *cobra.Command {
	opts := &devOptions{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a server and an enrolled local agent with two simulated VMs",
		Long: `Run the VirMO Server and a local agent with the sim driver and two VMs
(vm1, vm2) in one process, for a first look. The server serves plain HTTP,
or HTTPS with --tls, on the loopback address --listen. DATA/server.url holds
its URL, DATA/admin.token the operator token, and DATA/agent/unlock.sock is
the agent's unlock socket. State is kept in DATA, so a second run continues
where the first stopped.

Dev mode logs warnings and errors only, so that routine session lines do
not bury the banner; pass --log-level info or debug to see them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Routine session logs every poll would bury the banner, so dev
			// mode logs warnings only unless --log-level is given.
			if !cmd.Flags().Changed("log-level") {
				g.logLevel = "warn"
			}
			if err := checkDevFlags(opts); err != nil {
				return err
			}
			// Without --auth, a data directory keeps the credential type
			// it was enrolled with.
			if !cmd.Flags().Changed("auth") {
				opts.auth = ""
			}
			return runDev(cmd.Context(), g, opts, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&opts.dataDir, "data", "virmo-dev",
		"directory for the server's and the agent's state")
	cmd.Flags().StringVar(&opts.listen, "listen", "127.0.0.1:8080",
		"loopback TCP address (host:port) for the server; port 0 picks a free one")
	cmd.Flags().DurationVar(&opts.poll, "poll", 30*time.Second,
		"time between the agent's DM sessions when no notification arrives, at least 1s")
	cmd.Flags().BoolVar(&opts.tls, "tls", false,
		"serve HTTPS with a self-signed certificate; its CA is written to DATA/ca.pem")
	cmd.Flags().StringVar(&opts.encoding, "encoding", "xml",
		"encoding of the agent's DM messages: xml or wbxml")
	cmd.Flags().StringVar(&opts.auth, "auth", "md5",
		"credential type of the agent's DM account: md5, hmac, or basic (needs --tls); "+
			"given on a later run, the agent is enrolled again with it")
	cmd.Flags().StringVar(&opts.socketGroup, "socket-group", "", socketGroupHelp)
	return cmd
}

// checkDevFlags rejects flag values before dev mode creates any state in
// the data directory.
func checkDevFlags(opts *devOptions) error {
	if opts.poll < minPoll {
		return fmt.Errorf("invalid --poll %s: use %s or more, such as 30s", opts.poll, minPoll)
	}
	if opts.encoding != "xml" && opts.encoding != "wbxml" {
		return fmt.Errorf("invalid --encoding %q: use xml or wbxml", opts.encoding)
	}
	switch opts.auth {
	case "md5", "hmac":
	case "basic":
		if !opts.tls {
			return errors.New("--auth basic needs --tls: the agent sends basic credentials only over HTTPS")
		}
	default:
		return fmt.Errorf("invalid --auth %q: use md5, hmac or basic", opts.auth)
	}
	return nil
}

func runDev(ctx context.Context, g *globalOptions, opts *devOptions, out io.Writer) error {
	logger, err := g.newLogger()
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(opts.listen)
	if err != nil {
		return fmt.Errorf("--listen %q: want host:port, for example 127.0.0.1:8080", opts.listen)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--listen %q: dev mode listens on loopback only (127.0.0.1, ::1 or localhost), "+
			"because its agent and admin token are for local use; run virmo server for other addresses", opts.listen)
	}
	listener, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another --listen address, or port 0)", opts.listen, err)
	}

	srvOpts := &serverOptions{dataDir: opts.dataDir, serverID: "virmo-dev"}
	caFile := ""
	if opts.tls {
		if err := os.MkdirAll(opts.dataDir, 0o700); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
		files, err := tlsutil.GenerateDev(opts.dataDir, []string{"127.0.0.1", "::1", "localhost"})
		if err != nil {
			return fmt.Errorf("generate the dev TLS certificate: %w", err)
		}
		srvOpts.tls = tlsServerOptions{certFile: files.ServerCert, keyFile: files.ServerKey}
		caFile = files.CACert
	}
	running, err := startServer(ctx, logger.With("part", "server"), srvOpts, listener)
	if err != nil {
		listener.Close()
		return err
	}
	defer running.shutdown()

	agentOpts := &agentOptions{
		dataDir:     filepath.Join(opts.dataDir, "agent"),
		driver:      "sim",
		socketPath:  filepath.Join(opts.dataDir, "agent", "unlock.sock"),
		socketGroup: opts.socketGroup,
		poll:        opts.poll,
		// The server wakes the agent over the long-poll channel whenever
		// it queues a command, so polling is only the fallback.
		notifyLongPoll: true,
		syncInterval:   time.Second,
		ensureVMs:      []string{"vm1", "vm2"},
		vmMemoryMiB:    64,
		vmVCPUs:        1,
		encoding:       opts.encoding,
	}
	enrollment, err := enrollDevAgent(ctx, running, agentOpts.dataDir, caFile, opts.auth)
	if err != nil {
		return err
	}
	if enrollment.reenrolled != "" {
		fmt.Fprintf(out, "%s, so the local agent was enrolled again (same device).\n\n",
			enrollment.reenrolled)
	}
	agentOpts.auth = enrollment.Auth
	a, drv, err := newAgent(ctx, logger.With("part", "agent"), agentOpts)
	if err != nil {
		return err
	}
	defer drv.Close()
	devID, err := a.Value("./DevInfo/DevId")
	if err != nil {
		return fmt.Errorf("read the local agent's DevID: %w", err)
	}
	if err := enrollment.recordDevID(string(devID)); err != nil {
		return err
	}

	agentDone := make(chan error, 1)
	go func() { agentDone <- a.Run(ctx) }()

	httpClient, err := tlsutil.NewHTTPClient(tlsutil.ClientOptions{CAFile: caFile})
	if err != nil {
		return err
	}
	client := apiclient.New(running.baseURL, running.token, httpClient)
	deviceID := "(see: virmo device list)"
	if devices, err := client.ListDevices(ctx); err == nil {
		for _, d := range devices {
			if d.DevID == string(devID) {
				deviceID = d.ID
			}
		}
	}
	printDevBanner(out, devCommandName(os.Args[0]), opts.dataDir, running, deviceID,
		agentOpts.socketPath, caFile)

	select {
	case <-ctx.Done():
		<-agentDone
		return nil
	case err := <-agentDone:
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("agent stopped: %w", err)
		}
		return nil
	}
}

// devCommandName returns the command the banner shows for running virmo:
// argv0 as given, or "go run ./cmd/virmo" when argv0 is a binary that
// go run or go test built in its temporary go-build directory.
func devCommandName(argv0 string) string {
	if argv0 == "" || strings.Contains(filepath.ToSlash(argv0), "/go-build") {
		return "go run ./cmd/virmo"
	}
	return argv0
}

func printDevBanner(out io.Writer, command, dataDir string, running *runningServer, deviceID, socket,
	caFile string) {
	tokenFile := filepath.Join(dataDir, "admin.token")
	caExport := ""
	if caFile != "" {
		caExport = " VIRMO_CA=" + caFile
	}
	fmt.Fprintf(out, `VirMO dev mode is running (Ctrl-C stops it).

  server URL     %[1]s
  admin token    %[2]s  (also in %[3]s)
  device         %[4]s  (VMs vm1 and vm2, simulated)
  unlock socket  %[5]s

Next, in another terminal:

  export VIRMO_SERVER=%[1]s VIRMO_TOKEN=$(cat %[3]s)%[6]s
  %[7]s vm list
  %[7]s vm lock %[4]s/vm1 --user-unlock     # prints the unlock secret once
  %[7]s unlock vm1 --socket %[5]s         # type the secret
  %[7]s vm list
`, running.baseURL, running.token, tokenFile, deviceID, socket, caExport, command)
}
