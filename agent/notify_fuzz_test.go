package agent

import (
	"bytes"
	"strings"
	"testing"

	"github.com/virmo/virmo/notification"
	"github.com/virmo/virmo/server/notify"
)

func TestParsePushAcceptsEncodings(t *testing.T) {
	msg := newTrigger(t, 1, testServerID, testServerNonce)
	textType := []byte(notifyContentType + "\x00")
	textAppID := []byte(wspAppIDSyncMLDMText + "\x00")
	cases := []struct {
		name    string
		headers []byte
	}{
		{"short codes", []byte{wspContentTypeCode, wspHeaderAppID, wspAppIDSyncMLDM}},
		{"text content type", concat(textType, []byte{wspHeaderAppID, wspAppIDSyncMLDM})},
		{"text application id", concat([]byte{wspContentTypeCode, wspHeaderAppID}, textAppID)},
		{"long-integer application id", []byte{wspContentTypeCode, wspHeaderAppID, 1, 0x07}},
		{"other headers first", concat([]byte{wspContentTypeCode, 0x80 | 0x0D, 0x82},
			[]byte("X-Note\x00hi\x00"), []byte{0x80 | 0x10, 2, 0xAB, 0xCD},
			[]byte{wspHeaderAppID, wspAppIDSyncMLDM})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pdu := concat([]byte{7, wspPDUPush, byte(len(tc.headers))}, tc.headers, msg)
			got, err := parsePush(pdu)
			if err != nil {
				t.Fatalf("parsePush: %v", err)
			}
			if !bytes.Equal(got, msg) {
				t.Errorf("parsePush returned % x, want the trigger % x", got, msg)
			}
		})
	}
}

func TestParsePushRejectsBadInput(t *testing.T) {
	msg := newTrigger(t, 1, testServerID, testServerNonce)
	push := func(headers ...byte) []byte {
		return concat([]byte{1, wspPDUPush, byte(len(headers))}, headers, msg)
	}
	cases := []struct {
		name string
		pdu  []byte
	}{
		{"empty", nil},
		{"one octet", []byte{1}},
		{"not a push PDU", concat([]byte{1, 0x07, 3, wspContentTypeCode, wspHeaderAppID,
			wspAppIDSyncMLDM}, msg)},
		{"truncated headers length", []byte{1, wspPDUPush, 0x81, 0x80}},
		{"headers length over 5 octets", []byte{1, wspPDUPush, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01}},
		{"zero headers length", concat([]byte{1, wspPDUPush, 0}, msg)},
		{"headers length past the end", []byte{1, wspPDUPush, 10, wspContentTypeCode,
			wspHeaderAppID, wspAppIDSyncMLDM}},
		{"wrong content type code", push(0x80|0x43, wspHeaderAppID, wspAppIDSyncMLDM)},
		{"wrong content type text", push(concat([]byte("text/plain\x00"),
			[]byte{wspHeaderAppID, wspAppIDSyncMLDM})...)},
		{"general content type form", push(2, wspContentTypeCode, 0x81, wspHeaderAppID,
			wspAppIDSyncMLDM)},
		{"wrong application id", push(wspContentTypeCode, wspHeaderAppID, 0x80|0x04)},
		{"wrong application id text", push(concat([]byte{wspContentTypeCode, wspHeaderAppID},
			[]byte("x-wap-application:wml.ua\x00"))...)},
		{"missing application id", push(wspContentTypeCode)},
		{"application id without value", push(wspContentTypeCode, wspHeaderAppID)},
		{"header value length past the end", push(wspContentTypeCode, 0x80|0x10, 5, 1)},
		{"header name without NUL", push(wspContentTypeCode, 'X', '-', 'a')},
		{"header value without NUL", push(wspContentTypeCode, 'X', 0, 'a')},
		{"code page shift", push(wspContentTypeCode, 0x7F, 2, wspHeaderAppID, wspAppIDSyncMLDM)},
		{"oversized notification", notify.EncodePush(1, make([]byte, maxNotificationSize+1))},
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePush(tc.pdu)
			if err == nil {
				t.Fatalf("parsePush(% x) = % x, want an error", tc.pdu, got)
			}
			if got != nil {
				t.Errorf("parsePush returned % x with its error", got)
			}
		})
	}
}

func TestParsePushErrorsNameTheProblem(t *testing.T) {
	msg := newTrigger(t, 1, testServerID, testServerNonce)
	_, err := parsePush(concat([]byte{1, wspPDUPush, 3, wspContentTypeCode, wspHeaderAppID,
		0x80 | 0x04}, msg))
	if err == nil || !strings.Contains(err.Error(), "X-Wap-Application-Id") {
		t.Errorf("error for a wrong application id = %v, want one naming X-Wap-Application-Id", err)
	}
}

// FuzzParsePush checks that parsePush never panics and that a notification
// it accepts is a bounded suffix of the datagram, parses the same after
// re-wrapping, and verifies the same way both times.
func FuzzParsePush(f *testing.F) {
	stored := mustTrigger(1, testServerID, testServerNonce)
	fallback := mustTrigger(2, testServerID, notification.FallbackNonce())
	f.Add(notify.EncodePush(1, stored))
	f.Add(notify.EncodePush(0xFF, fallback))
	textHeaders := concat([]byte(notifyContentType+"\x00"), []byte{wspHeaderAppID, 0x87})
	f.Add(concat([]byte{1, wspPDUPush, byte(len(textHeaders))}, textHeaders, stored))
	f.Add([]byte{1, wspPDUPush, 0x81, 0x80})
	f.Add([]byte{})

	acc := testAccountValues()
	f.Fuzz(func(t *testing.T, pdu []byte) {
		msg, err := parsePush(pdu)
		if err != nil {
			return
		}
		if len(msg) > maxNotificationSize {
			t.Fatalf("accepted a notification of %d bytes", len(msg))
		}
		if !bytes.HasSuffix(pdu, msg) {
			t.Fatalf("notification % x is not the end of the datagram % x", msg, pdu)
		}
		again, err := parsePush(notify.EncodePush(pdu[0], msg))
		if err != nil {
			t.Fatalf("re-wrapped notification rejected: %v", err)
		}
		if !bytes.Equal(again, msg) {
			t.Fatalf("re-wrapped notification parsed as % x, want % x", again, msg)
		}

		trigger, fallbackUsed, err := verifyTrigger(msg, acc, nil)
		trigger2, fallbackUsed2, err2 := verifyTrigger(again, acc, nil)
		if (err == nil) != (err2 == nil) || fallbackUsed != fallbackUsed2 ||
			trigger.SessionID != trigger2.SessionID {
			t.Fatalf("verification differs after re-wrapping: %v and %v", err, err2)
		}
		if err != nil {
			return
		}
		if trigger.ServerID != acc.ServerID {
			t.Fatalf("verified a trigger for server %q", trigger.ServerID)
		}
		nonce := acc.ServerNonce
		if fallbackUsed {
			nonce = notification.FallbackNonce()
		}
		if !notification.Verify(msg, acc.ServerPassword, nonce) {
			t.Fatal("verifyTrigger accepted a digest that notification.Verify rejects")
		}
	})
}

// concat returns the parts joined into a new slice.
func concat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}
