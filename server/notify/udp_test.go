package notify

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/virmo/virmo/notification"
	"github.com/virmo/virmo/store"
)

func TestNotifySendsDatagramOnLoopback(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer conn.Close()

	d, _ := f.store.GetDevice(ctx, testDeviceID)
	d.DevInfo = map[string]string{DevInfoUDPLeaf: conn.LocalAddr().String()}
	if err := f.store.UpdateDevice(ctx, d); err != nil {
		t.Fatalf("update device: %v", err)
	}
	if err := f.notifier.Notify(ctx, testDeviceID); err != nil {
		t.Fatalf("Notify: %v", err)
	}

	// The deadline only stops a hung test.
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	buf := make([]byte, 1500)
	size, _, err := conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("read datagram: %v", err)
	}
	pdu := buf[:size]
	if len(pdu) < 6 {
		t.Fatalf("datagram of %d bytes, want a WSP Push", len(pdu))
	}
	if pdu[1] != wspPDUPush || pdu[2] != 3 || pdu[3] != wspContentType ||
		pdu[4] != wspHeaderAppID || pdu[5] != wspAppIDSyncMLDM {
		t.Errorf("WSP header = % x, want tid 06 03 c4 af 87", pdu[:6])
	}
	if !notification.Verify(pdu[6:], testServerPassword, testServerNonce) {
		t.Error("datagram's Package #0 does not verify")
	}
}

func TestUDPTargetChecksAddress(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.UDPAllow = append([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, DefaultUDPAllow...)
	})
	cases := []struct {
		reported string
		want     string // empty: no datagram
	}{
		{"", ""},
		{"127.0.0.1:2948", "127.0.0.1:2948"},
		{"127.0.0.1", "127.0.0.1:2948"},
		{"[::1]:4000", "[::1]:4000"},
		{"10.1.2.3:2948", "10.1.2.3:2948"},
		{"192.168.1.5:2948", ""},
		{"0.0.0.0:2948", ""},
		{"224.0.0.1:2948", ""},
		{"localhost:2948", ""},
		{"127.0.0.1:0", ""},
		{"127.0.0.1:99999", ""},
	}
	for _, tc := range cases {
		t.Run(tc.reported, func(t *testing.T) {
			d := store.Device{ID: "d", DevInfo: map[string]string{DevInfoUDPLeaf: tc.reported}}
			got, ok := f.notifier.udpTarget(d)
			if tc.want == "" {
				if ok {
					t.Fatalf("udpTarget(%q) = %s, want none", tc.reported, got)
				}
				return
			}
			if !ok || got.String() != tc.want {
				t.Fatalf("udpTarget(%q) = %s, %t; want %s", tc.reported, got, ok, tc.want)
			}
		})
	}
}

func TestEncodePushLayout(t *testing.T) {
	got := EncodePush(9, []byte{1, 2})
	want := []byte{9, 0x06, 0x03, 0xC4, 0xAF, 0x87, 1, 2}
	if string(got) != string(want) {
		t.Fatalf("EncodePush = % x, want % x", got, want)
	}
}
