package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/virmo/virmo/agent"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/hypervisor/libvirt"
	"github.com/virmo/virmo/hypervisor/sim"
	"github.com/virmo/virmo/internal/tlsutil"
)

type agentOptions struct {
	dataDir       string
	driver        string
	libvirtSocket string
	socketPath    string
	socketGroup   string
	poll          time.Duration
	syncInterval  time.Duration
	ensureVMs     []string
	vmMemoryMiB   int
	vmVCPUs       int
	clientCert    string
	clientKey     string
	// notifyLongPoll and notifyUDP turn on Package #0 notifications.
	notifyLongPoll bool
	notifyUDP      string
	encoding       string
	auth           string
}

// serverCAFileName is the file in the agent's data directory that holds the
// CA the server's HTTPS certificate is verified against, copied there by
// "virmo agent enroll --ca".
const serverCAFileName = "server-ca.pem"

func newAgentCommand(g *globalOptions) *cobra.Command {
	opts := &agentOptions{}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the VirMO Client on this device",
		Long: `Run the VirMO Client (the agent). It holds the OMA DM management tree,
drives the hypervisor, enforces VM locks, and opens DM sessions with the
server it was enrolled with (see "virmo agent enroll").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkAgentIntervals(opts); err != nil {
				return err
			}
			logger, err := g.newLogger()
			if err != nil {
				return err
			}
			return runAgent(cmd.Context(), logger, opts)
		},
	}
	addAgentFlags(cmd, opts)
	cmd.AddCommand(newAgentEnrollCommand(g))
	return cmd
}

func addAgentFlags(cmd *cobra.Command, opts *agentOptions) {
	cmd.Flags().StringVar(&opts.dataDir, "data", "virmo-agent",
		"directory for the agent's state (management tree, alert queue, sim VMs)")
	cmd.Flags().StringVar(&opts.driver, "driver", "sim",
		"hypervisor driver: sim (simulated VMs) or libvirt (libvirtd with QEMU)")
	cmd.Flags().StringVar(&opts.libvirtSocket, "libvirt-socket", "/var/run/libvirt/libvirt-sock",
		"path of libvirtd's Unix socket, with --driver libvirt")
	cmd.Flags().StringVar(&opts.socketPath, "socket", "",
		"path of the local unlock socket (default DATA/unlock.sock)")
	cmd.Flags().StringVar(&opts.socketGroup, "socket-group", "",
		socketGroupHelp)
	cmd.Flags().DurationVar(&opts.poll, "poll", 0,
		"time between client-initiated DM sessions, at least 1s, for example 30s or 5m; "+
			"0 means 5m, or 1h with --notify-long-poll or --notify-udp")
	cmd.Flags().BoolVar(&opts.notifyLongPoll, "notify-long-poll", false,
		"keep a long-poll open at the server so it can wake the agent at once (works behind NAT)")
	cmd.Flags().StringVar(&opts.notifyUDP, "notify-udp", "",
		"IP:port to receive Package #0 datagrams on, for example 127.0.0.1:2948; "+
			"reported to the server at every session")
	cmd.Flags().DurationVar(&opts.syncInterval, "sync-interval", 5*time.Second,
		"time between checks of the hypervisor (VM states, lock enforcement); must be above 0")
	cmd.Flags().StringSliceVar(&opts.ensureVMs, "ensure-vm", nil,
		"create and start this VM if it does not exist (repeatable)")
	cmd.Flags().IntVar(&opts.vmMemoryMiB, "vm-memory", 32,
		"memory in MiB of VMs created by --ensure-vm")
	cmd.Flags().IntVar(&opts.vmVCPUs, "vm-vcpus", 1,
		"virtual CPUs of VMs created by --ensure-vm")
	cmd.Flags().StringVar(&opts.clientCert, "tls-client-cert", "",
		"PEM client certificate to present to an HTTPS server (optional)")
	cmd.Flags().StringVar(&opts.clientKey, "tls-client-key", "",
		"PEM private key of --tls-client-cert")
	cmd.Flags().StringVar(&opts.encoding, "encoding", "xml",
		"encoding of the DM messages the agent sends: xml or wbxml")
	cmd.Flags().StringVar(&opts.auth, "auth", "",
		"credential type the DM account must use: md5, hmac or basic (default: the enrolled one)")
}

const socketGroupHelp = "group name or ID whose members may use the unlock socket (mode 0660); " +
	"default: only the agent's user (mode 0600). The group also needs search permission on the socket's directory"

// minPoll is the shortest --poll the agent and dev mode accept. A shorter
// value is most likely a typo (5ms for 5m) and would open a DM session
// every few milliseconds.
const minPoll = time.Second

// checkAgentIntervals rejects a negative --poll, a --poll below minPoll
// other than 0 (the default), and a non-positive --sync-interval, which
// the agent would replace by its default.
func checkAgentIntervals(opts *agentOptions) error {
	if opts.poll < 0 || (opts.poll > 0 && opts.poll < minPoll) {
		return fmt.Errorf("invalid --poll %s: use %s or more, such as 5m, or 0 for the default",
			opts.poll, minPoll)
	}
	if opts.syncInterval <= 0 {
		return fmt.Errorf("invalid --sync-interval %s: use a positive duration such as 5s", opts.syncInterval)
	}
	return nil
}

// agentHTTPClient returns the client for DM sessions: it trusts only the CA
// stored at enrollment when there is one, and presents the client
// certificate when one is configured.
func agentHTTPClient(opts *agentOptions) (*http.Client, error) {
	clientOpts := tlsutil.ClientOptions{CertFile: opts.clientCert, KeyFile: opts.clientKey}
	caFile := filepath.Join(opts.dataDir, serverCAFileName)
	if _, err := os.Stat(caFile); err == nil {
		clientOpts.CAFile = caFile
	}
	client, err := tlsutil.NewHTTPClient(clientOpts)
	if err != nil {
		return nil, fmt.Errorf("agent HTTPS client: %w", err)
	}
	return client, nil
}

func openDriver(ctx context.Context, opts *agentOptions) (hypervisor.Driver, error) {
	switch opts.driver {
	case "sim":
		return sim.Open(filepath.Join(opts.dataDir, "sim"))
	case "libvirt":
		return libvirt.Open(ctx, opts.libvirtSocket, libvirt.Options{})
	}
	return nil, fmt.Errorf("--driver %q: use sim or libvirt", opts.driver)
}

// ensureVMs creates and starts each named VM that the driver does not have.
func ensureVMs(ctx context.Context, drv hypervisor.Driver, opts *agentOptions) error {
	cfg := hypervisor.Config{VCPUs: opts.vmVCPUs, MemoryMiB: opts.vmMemoryMiB}
	for _, name := range opts.ensureVMs {
		_, err := drv.Get(ctx, name)
		if err == nil {
			continue
		}
		if !errors.Is(err, hypervisor.ErrNotFound) {
			return fmt.Errorf("look up VM %s: %w", name, err)
		}
		if _, err := drv.Create(ctx, name, cfg); err != nil {
			return fmt.Errorf("create VM %s: %w", name, err)
		}
		if err := drv.Start(ctx, name); err != nil {
			return fmt.Errorf("start VM %s: %w", name, err)
		}
	}
	return nil
}

func newAgent(ctx context.Context, logger *slog.Logger, opts *agentOptions) (*agent.Agent, hypervisor.Driver, error) {
	drv, err := openDriver(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	if err := ensureVMs(ctx, drv, opts); err != nil {
		drv.Close()
		return nil, nil, err
	}
	httpClient, err := agentHTTPClient(opts)
	if err != nil {
		drv.Close()
		return nil, nil, err
	}
	a, err := agent.New(agent.Config{
		HTTPClient:     httpClient,
		DataDir:        opts.dataDir,
		Driver:         drv,
		PollInterval:   opts.poll,
		NotifyLongPoll: opts.notifyLongPoll,
		NotifyUDP:      opts.notifyUDP,
		SyncInterval:   opts.syncInterval,
		SocketPath:     opts.socketPath,
		SocketGroup:    opts.socketGroup,
		Logger:         logger,
		Encoding:       opts.encoding,
		Auth:           opts.auth,
	})
	if err != nil {
		drv.Close()
		return nil, nil, err
	}
	return a, drv, nil
}

func runAgent(ctx context.Context, logger *slog.Logger, opts *agentOptions) error {
	a, drv, err := newAgent(ctx, logger, opts)
	if err != nil {
		return err
	}
	defer drv.Close()
	return a.Run(ctx)
}

type enrollOptions struct {
	dataDir   string
	serverURL string
	token     string
	devID     string
	name      string
	tls       tlsClientOptions
	auth      string
}

func newAgentEnrollCommand(g *globalOptions) *cobra.Command {
	opts := &enrollOptions{}
	cmd := &cobra.Command{
		Use:   "enroll",
		Short: "Enroll this device with a server using a one-time token",
		Long: `Exchange a one-time enrollment token (from "virmo enroll-token create")
for a DM account with per-device credentials, stored in the agent's state.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.serverURL == "" || opts.token == "" {
				return errors.New("enroll needs --server URL and --token TOKEN")
			}
			if opts.name == "" {
				host, err := os.Hostname()
				if err != nil {
					return fmt.Errorf("no --name given and the host name is unknown (%w): pass --name", err)
				}
				opts.name = host
			}
			opts.tls.resolve(false)
			if err := checkEnrollCA(opts, cmd.ErrOrStderr()); err != nil {
				return err
			}
			if err := enrollAgent(cmd.Context(), opts); err != nil {
				if hint := opts.tls.explainTLSError(err); hint != "" {
					return fmt.Errorf("%w; %s", err, hint)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "enrolled with %s; start the agent with: virmo agent --data %s\n",
				opts.serverURL, opts.dataDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.dataDir, "data", "virmo-agent", "directory for the agent's state")
	cmd.Flags().StringVar(&opts.serverURL, "server", "", "base URL of the VirMO Server, for example http://127.0.0.1:8080")
	cmd.Flags().StringVar(&opts.token, "token", "", "one-time enrollment token")
	cmd.Flags().StringVar(&opts.devID, "devid", "", "OMA DM DevId of this device (default: a random urn:uuid kept in the state)")
	cmd.Flags().StringVar(&opts.name, "name", "", "display name of this device (default: the host name)")
	cmd.Flags().StringVar(&opts.auth, "auth", "md5",
		"credential type of the DM account: md5, hmac, or basic (https servers only)")
	addTLSClientFlags(cmd.Flags(), &opts.tls,
		"PEM CA file the server's HTTPS certificate is verified against, kept for later sessions (env VIRMO_CA)",
		" (used for enrollment only: pass it to virmo agent as well)")
	return cmd
}

// checkEnrollCA rejects --ca with a server URL that is not https, where
// the CA would be stored but never used. A CA from VIRMO_CA only gets a
// warning on stderr and is dropped, because the variable may be set for
// other servers.
func checkEnrollCA(opts *enrollOptions, stderr io.Writer) error {
	if opts.tls.caFile == "" || strings.HasPrefix(strings.ToLower(opts.serverURL), "https://") {
		return nil
	}
	if opts.tls.caSource == "VIRMO_CA" {
		fmt.Fprintf(stderr, "virmo: warning: ignoring VIRMO_CA=%s: --server %s is not https, so no CA is used\n",
			opts.tls.caFile, opts.serverURL)
		opts.tls.caFile = ""
		return nil
	}
	return fmt.Errorf("--ca is set, but --server %s is not https, so the CA would never be used: "+
		"use the server's https:// URL or leave --ca out", opts.serverURL)
}

// enrollAgent enrolls the agent and, with a CA file, keeps a copy of it in
// the data directory so every later session verifies the server against it.
func enrollAgent(ctx context.Context, opts *enrollOptions) error {
	if opts.tls.caSource == "" {
		opts.tls.caSource = "--ca"
	}
	httpClient, err := opts.tls.httpClient(0)
	if err != nil {
		return err
	}
	err = agent.Enroll(ctx, agent.EnrollConfig{
		DataDir:    opts.dataDir,
		ServerURL:  opts.serverURL,
		Token:      opts.token,
		DevID:      opts.devID,
		Name:       opts.name,
		Auth:       opts.auth,
		HTTPClient: httpClient,
	})
	if err != nil {
		return err
	}
	if opts.tls.caFile == "" {
		return nil
	}
	ca, err := os.ReadFile(opts.tls.caFile)
	if err != nil {
		return fmt.Errorf("read --ca file: %w", err)
	}
	return os.WriteFile(filepath.Join(opts.dataDir, serverCAFileName), ca, 0o600)
}
