package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/virmo/virmo/notification"
	"github.com/virmo/virmo/store"
)

// Defaults of Config.
const (
	// DefaultHold is how long a long-poll stays open without a wake-up. It
	// is below the 60 s idle timeout common in proxies and NAT gateways.
	DefaultHold = 55 * time.Second
	// DefaultUDPPort is the WAP Push port of Package #0 datagrams.
	DefaultUDPPort = 2948
	// DefaultResendAfter is the minimum time between two deliveries of the
	// same pending notification to a reconnecting long-poll.
	DefaultResendAfter = 30 * time.Second
)

// DevInfoUDPLeaf is the DevInfo leaf (below ./DevInfo) in which the agent
// reports the UDP address it receives Package #0 datagrams on, as
// host:port with a literal IP address.
const DevInfoUDPLeaf = "Ext/NotifyUDP"

// DefaultUDPAllow lists the prefixes datagrams may go to by default:
// loopback only, so a device cannot make the server send datagrams to
// another host unless the operator allows its network.
var DefaultUDPAllow = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
}

// Sealer opens the sealed server passwords of store.Device.
// *seal.Sealer implements it.
type Sealer interface {
	Open(sealed []byte) ([]byte, error)
}

// Config configures a Notifier. Store and Sealer are required.
type Config struct {
	Store  store.Store
	Sealer Sealer
	// Waker carries wake-ups to long-polls; nil means a new Hub.
	Waker Waker
	// ServerID is the ServerID of a device row without one.
	ServerID string
	Logger   *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Hold is the longest time a long-poll stays open; 0 means
	// DefaultHold. A request may ask for less with ?wait=<seconds>.
	Hold time.Duration
	// ResendAfter is the minimum time between deliveries of one pending
	// notification to reconnecting long-polls; 0 means DefaultResendAfter.
	ResendAfter time.Duration
	// UDPAllow lists the prefixes datagrams may be sent to; nil means
	// DefaultUDPAllow. DisableUDP turns datagrams off.
	UDPAllow   []netip.Prefix
	DisableUDP bool
}

// Notifier sends Package #0 notifications and serves the long-poll.
type Notifier struct {
	cfg Config
	log *slog.Logger

	udpOnce sync.Once
	udpConn *net.UDPConn
	udpErr  error
	tidMu   sync.Mutex
	tid     byte

	// pollMu guards stopping. stopped is closed when stopping becomes
	// true, and polls counts the long-poll handlers running.
	pollMu   sync.Mutex
	stopping bool
	stopped  chan struct{}
	polls    sync.WaitGroup
}

// New returns a Notifier for cfg.
func New(cfg Config) (*Notifier, error) {
	if cfg.Store == nil || cfg.Sealer == nil {
		return nil, errors.New("notify: Config.Store and Config.Sealer are required")
	}
	if cfg.Waker == nil {
		cfg.Waker = NewHub()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Hold <= 0 {
		cfg.Hold = DefaultHold
	}
	if cfg.ResendAfter <= 0 {
		cfg.ResendAfter = DefaultResendAfter
	}
	if cfg.UDPAllow == nil {
		cfg.UDPAllow = DefaultUDPAllow
	}
	return &Notifier{cfg: cfg, log: cfg.Logger, stopped: make(chan struct{})}, nil
}

// Close ends every held long-poll as Shutdown does, without waiting for
// the handlers, and closes the UDP socket, if one was opened.
func (n *Notifier) Close() error {
	n.stopPolls()
	// Do waits for a socket being opened, and stops later sends from
	// opening one.
	n.udpOnce.Do(func() { n.udpErr = errors.New("notify: notifier is closed") })
	if n.udpConn != nil {
		return n.udpConn.Close()
	}
	return nil
}

// Notify wakes a device: it records a pending notification (or keeps the
// one still pending), wakes the device's long-polls and, when the device
// reported an allowed UDP address, sends a datagram. Call it after the
// transaction that queued the command has committed.
func (n *Notifier) Notify(ctx context.Context, deviceID string) error {
	var device store.Device
	var p pending
	err := n.cfg.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		device, err = q.GetDevice(ctx, deviceID)
		if err != nil {
			return fmt.Errorf("load device %s: %w", deviceID, err)
		}
		old, ok, err := loadPending(ctx, q, deviceID)
		if err != nil {
			return err
		}
		now := n.cfg.Now().UTC()
		if ok && now.Sub(old.CreatedAt) < pendingTTL {
			p = old
			return nil
		}
		id, err := newSessionID(ctx, q, deviceID)
		if err != nil {
			return err
		}
		p = pending{SessionID: id, CreatedAt: now}
		return storePending(ctx, q, deviceID, p)
	})
	if err != nil {
		return err
	}

	if err := n.cfg.Waker.Wake(ctx, deviceID); err != nil {
		n.log.Warn("wake long-poll failed", "device", deviceID, "err", err)
	}
	n.log.Info("device notified", "device", deviceID,
		"session", notification.SessionIDString(p.SessionID))

	if n.cfg.DisableUDP {
		return nil
	}
	return n.sendUDP(ctx, device)
}

// NotifiedSession reports whether sessionID is the session id of the
// device's pending notification.
func (n *Notifier) NotifiedSession(ctx context.Context, q store.Queries, deviceID, sessionID string) (bool, error) {
	p, ok, err := loadPending(ctx, q, deviceID)
	if err != nil || !ok {
		return false, err
	}
	return notification.SessionIDString(p.SessionID) == sessionID, nil
}

// SessionOpened clears the device's pending notification: an
// authenticated session, notified or not, delivers the queue.
func (n *Notifier) SessionOpened(ctx context.Context, q store.Queries, deviceID, sessionID string) error {
	p, ok, err := loadPending(ctx, q, deviceID)
	if err != nil || !ok {
		return err
	}
	n.log.Info("pending notification answered", "device", deviceID, "session", sessionID,
		"notified_session", notification.SessionIDString(p.SessionID))
	return clearPending(ctx, q, deviceID)
}

// message builds the Package #0 of p for device. Every second delivery of
// one notification uses notification.FallbackNonce instead of the stored
// server nonce, so a device whose nonce differs from the server's still
// verifies one of them.
func (n *Notifier) message(device store.Device, p pending) ([]byte, error) {
	password, err := n.cfg.Sealer.Open(device.ServerSecretSealed)
	if err != nil {
		return nil, fmt.Errorf("open server password of device %s: %w", device.ID, err)
	}
	serverID := device.ServerID
	if serverID == "" {
		serverID = n.cfg.ServerID
	}
	nonce := device.ServerNonce
	if len(nonce) == 0 || p.Sends%2 == 1 {
		nonce = notification.FallbackNonce()
	}
	t := notification.Trigger{
		Version:   notification.VersionDM12,
		UIMode:    notification.UIModeBackground,
		Initiator: notification.InitiatorServer,
		SessionID: p.SessionID,
		ServerID:  serverID,
	}
	msg, err := notification.Encode(t, serverID, string(password), nonce)
	if err != nil {
		return nil, fmt.Errorf("encode notification for device %s: %w", device.ID, err)
	}
	return msg, nil
}

// deliver loads the device and its pending notification, counts one more
// delivery and returns the Package #0. ok is false when nothing is pending,
// or when onlyAfter is set and the last delivery is more recent than it.
func (n *Notifier) deliver(ctx context.Context, deviceID string, onlyAfter time.Duration) (msg []byte, ok bool, err error) {
	err = n.cfg.Store.InTx(ctx, func(q store.Queries) error {
		p, found, err := loadPending(ctx, q, deviceID)
		if err != nil || !found {
			return err
		}
		now := n.cfg.Now().UTC()
		if now.Sub(p.CreatedAt) >= pendingTTL {
			return clearPending(ctx, q, deviceID)
		}
		if onlyAfter > 0 && p.Sends > 0 && now.Sub(p.SentAt) < onlyAfter {
			return nil
		}
		device, err := q.GetDevice(ctx, deviceID)
		if err != nil {
			return fmt.Errorf("load device %s: %w", deviceID, err)
		}
		if msg, err = n.message(device, p); err != nil {
			return err
		}
		p.Sends++
		p.SentAt = now
		ok = true
		return storePending(ctx, q, deviceID, p)
	})
	if err != nil {
		return nil, false, err
	}
	return msg, ok, nil
}
