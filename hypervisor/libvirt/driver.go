// Package libvirt drives QEMU VMs through libvirtd, speaking libvirt's RPC
// protocol on its local Unix socket with github.com/digitalocean/go-libvirt.
//
// The driver manages only the domains whose names start with a prefix
// (default "virmo-") and leaves every other domain on the host alone.
// hypervisor.VM.Name is the domain name without the prefix.
//
// NOTE: go-libvirt calls take no context. The driver checks ctx before
// each call but cannot cancel a call that libvirtd is slow to respond to. It
// also does not reconnect: after libvirtd restarts, every call fails
// until the caller opens a new Driver.
package libvirt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"github.com/virmo/virmo/hypervisor"
)

// Defaults for Open.
const (
	DefaultSocketPath = "/var/run/libvirt/libvirt-sock"
	DefaultPrefix     = "virmo-"
	DefaultURI        = "qemu:///system"
)

// Options configures a Driver. The zero value uses the defaults.
type Options struct {
	// Prefix starts the name of every domain the driver manages. Empty
	// means DefaultPrefix. It must pass hypervisor.ValidateName.
	Prefix string
	// URI is the libvirt connection URI libvirtd opens for the driver:
	// qemu:///system or qemu:///session. Empty means DefaultURI.
	URI string
	// Logger receives one line per change the driver makes. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Driver drives the QEMU domains of one libvirtd. It implements
// hypervisor.Driver and is safe for concurrent use.
type Driver struct {
	conn   *golibvirt.Libvirt
	prefix string
	log    *slog.Logger
}

var _ hypervisor.Driver = (*Driver)(nil)

// Open connects to libvirtd on the Unix socket socketPath (empty means
// DefaultSocketPath) and opens the QEMU driver. ctx bounds the dial and
// the connection handshake. Open never uses TCP.
func Open(ctx context.Context, socketPath string, opts Options) (*Driver, error) {
	if socketPath == "" {
		socketPath = DefaultSocketPath
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := hypervisor.ValidateName(prefix); err != nil {
		return nil, fmt.Errorf("open libvirt: domain name prefix: %w", err)
	}
	uri := opts.URI
	if uri == "" {
		uri = DefaultURI
	}
	if uri != "qemu:///system" && uri != "qemu:///session" {
		return nil, fmt.Errorf("open libvirt: URI %q is not supported; use qemu:///system or qemu:///session", uri)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}

	var dialer net.Dialer
	sock, err := dialer.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return nil, fmt.Errorf("open libvirt: connect to %s (is libvirtd running?): %w",
			socketPath, err)
	}

	// The deadline bounds the handshake, which go-libvirt runs without a
	// context. It is cleared once the connection is up.
	if deadline, ok := ctx.Deadline(); ok {
		sock.SetDeadline(deadline)
	}
	conn := golibvirt.NewWithDialer(dialers.NewAlreadyConnected(sock))
	if err := conn.ConnectToURI(golibvirt.ConnectURI(uri)); err != nil {
		sock.Close()
		return nil, fmt.Errorf("open libvirt: open %s on %s: %w", uri, socketPath, err)
	}
	sock.SetDeadline(time.Time{})

	logger.Info("connected to libvirtd", "socket", socketPath, "uri", uri, "prefix", prefix)
	return &Driver{conn: conn, prefix: prefix, log: logger}, nil
}

// Close disconnects from libvirtd. The domains keep running.
func (d *Driver) Close() error {
	return d.conn.Disconnect()
}

// Prefix returns the domain name prefix of the driver's domains.
func (d *Driver) Prefix() string {
	return d.prefix
}

// lookup returns the domain of the VM named name.
func (d *Driver) lookup(ctx context.Context, name string) (golibvirt.Domain, error) {
	if err := ctx.Err(); err != nil {
		return golibvirt.Domain{}, err
	}
	if err := hypervisor.ValidateName(name); err != nil {
		return golibvirt.Domain{}, fmt.Errorf("%w: %w", hypervisor.ErrNotFound, err)
	}
	dom, err := d.conn.DomainLookupByName(d.prefix + name)
	if err != nil {
		return golibvirt.Domain{}, mapError(name, err)
	}
	return dom, nil
}

// mapError wraps libvirt errors that callers test for in the matching
// hypervisor error.
func mapError(name string, err error) error {
	var lverr golibvirt.Error
	if !errors.As(err, &lverr) {
		return fmt.Errorf("libvirt, VM %q: %w", name, err)
	}
	switch golibvirt.ErrorNumber(lverr.Code) {
	case golibvirt.ErrNoDomain:
		return fmt.Errorf("%w: %q", hypervisor.ErrNotFound, name)
	case golibvirt.ErrOperationInvalid:
		return fmt.Errorf("%w: VM %q: %v", hypervisor.ErrInvalidState, name, lverr.Message)
	case golibvirt.ErrDomExist:
		return fmt.Errorf("%w: %q", hypervisor.ErrExists, name)
	}
	return fmt.Errorf("libvirt, VM %q: %w", name, err)
}

// runState maps a libvirt domain state and reason to a VirMO run state.
// Blocked and shutting-down domains still run. A domain suspended by the
// guest (pmsuspended) counts as paused. A domain that crashed counts as
// failed, whether libvirt kept it (crashed) or powered it off (shutoff
// with reason crashed). The transient "no state" counts as failed too.
func runState(state golibvirt.DomainState, reason int32) hypervisor.RunState {
	switch state {
	case golibvirt.DomainRunning, golibvirt.DomainBlocked, golibvirt.DomainShutdown:
		return hypervisor.StateRunning
	case golibvirt.DomainPaused, golibvirt.DomainPmsuspended:
		return hypervisor.StatePaused
	case golibvirt.DomainShutoff:
		if golibvirt.DomainShutoffReason(reason) == golibvirt.DomainShutoffCrashed {
			return hypervisor.StateFailed
		}
		return hypervisor.StateStopped
	}
	return hypervisor.StateFailed
}

// trimPrefix returns the VM name of a domain name and whether the domain
// belongs to the driver.
func (d *Driver) trimPrefix(domainName string) (string, bool) {
	name, ok := strings.CutPrefix(domainName, d.prefix)
	return name, ok && hypervisor.ValidateName(name) == nil
}
