package notify

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/virmo/virmo/store"
)

// WSP values of a connectionless WAP Push carrying Package #0.
const (
	wspPDUPush = 0x06
	// wspContentType is the short-integer form of content type code 0x44,
	// application/vnd.syncml.notification.
	wspContentType = 0x80 | 0x44
	// wspHeaderAppID is the short-integer form of header field code 0x2F,
	// X-Wap-Application-Id, and wspAppIDSyncMLDM that of application id
	// 0x07, x-wap-application:syncml.dm.
	wspHeaderAppID   = 0x80 | 0x2F
	wspAppIDSyncMLDM = 0x80 | 0x07
)

// EncodePush wraps a Package #0 in a connectionless WSP Push PDU: the
// transaction id, PDU type Push, the length of the headers (3, one octet
// because it is below 128), the content type and the X-Wap-Application-Id
// header, then the message.
func EncodePush(tid byte, msg []byte) []byte {
	b := make([]byte, 0, 6+len(msg))
	b = append(b, tid, wspPDUPush, 3, wspContentType, wspHeaderAppID, wspAppIDSyncMLDM)
	return append(b, msg...)
}

// ParseUDPAddr parses the address a device reported in DevInfoUDPLeaf: a
// literal IP with a port, or a literal IP alone for DefaultUDPPort. Host
// names are rejected, so a report never causes a DNS lookup.
func ParseUDPAddr(s string) (netip.AddrPort, error) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return netip.AddrPort{}, fmt.Errorf("UDP address %q has port 0", s)
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("invalid UDP address %q: use IP:port with a literal IP", s)
	}
	return netip.AddrPortFrom(addr.Unmap(), DefaultUDPPort), nil
}

// udpTarget returns the address a datagram for device goes to; ok is false
// when the device reported none or one that is not allowed.
func (n *Notifier) udpTarget(device store.Device) (netip.AddrPort, bool) {
	reported := device.DevInfo[DevInfoUDPLeaf]
	if reported == "" {
		return netip.AddrPort{}, false
	}
	ap, err := ParseUDPAddr(reported)
	if err != nil {
		n.log.Warn("ignore the device's UDP address", "device", device.ID, "err", err)
		return netip.AddrPort{}, false
	}
	addr := ap.Addr()
	if addr.IsUnspecified() || addr.IsMulticast() {
		n.log.Warn("ignore the device's UDP address: it is unspecified or multicast",
			"device", device.ID, "addr", ap)
		return netip.AddrPort{}, false
	}
	for _, p := range n.cfg.UDPAllow {
		if p.Contains(addr) {
			return ap, true
		}
	}
	n.log.Warn("ignore the device's UDP address: it is outside the allowed prefixes",
		"device", device.ID, "addr", ap)
	return netip.AddrPort{}, false
}

// sendUDP sends the pending notification of device as one datagram when
// the device reported an allowed UDP address.
func (n *Notifier) sendUDP(ctx context.Context, device store.Device) error {
	target, ok := n.udpTarget(device)
	if !ok {
		return nil
	}
	msg, ok, err := n.deliver(ctx, device.ID, 0)
	if err != nil || !ok {
		return err
	}
	conn, err := n.udpSocket()
	if err != nil {
		return err
	}
	n.tidMu.Lock()
	n.tid++
	tid := n.tid
	n.tidMu.Unlock()
	if _, err := conn.WriteToUDPAddrPort(EncodePush(tid, msg), target); err != nil {
		return fmt.Errorf("send notification datagram to device %s at %s: %w", device.ID, target, err)
	}
	n.log.Debug("notification datagram sent", "device", device.ID, "addr", target)
	return nil
}

// udpSocket opens, once, the unconnected socket datagrams are sent from.
func (n *Notifier) udpSocket() (*net.UDPConn, error) {
	n.udpOnce.Do(func() {
		n.udpConn, n.udpErr = net.ListenUDP("udp", nil)
		if n.udpErr != nil {
			n.udpErr = fmt.Errorf("open UDP socket for notifications: %w", n.udpErr)
		}
	})
	return n.udpConn, n.udpErr
}
