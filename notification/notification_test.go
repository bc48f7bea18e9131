package notification

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"
)

// A worked Package #0 example: server com.example.dm, password serverpass,
// nonce of four zero bytes, version 11, background UI, server initiated,
// session 0x002A. The expected bytes were computed with Python's hashlib
// from the digest formula, and exampleMessage computes them again by hand.
const (
	exampleServerID   = "com.example.dm"
	examplePassword   = "serverpass"
	exampleTriggerHex = "02d8000000002a0e636f6d2e6578616d706c652e646d"
	exampleDigestHex  = "d2c19620f49c6a4e261196e4ee1a9d0f"
)

var exampleTrigger = Trigger{
	Version:   VersionDM12,
	UIMode:    UIModeBackground,
	Initiator: InitiatorServer,
	SessionID: 0x002A,
	ServerID:  exampleServerID,
}

// exampleMessage returns the example message built by hand, without the
// package's encoder: header bytes from the bit layout, digest step by step.
func exampleMessage() []byte {
	// version 11 in bits 63-54, UI mode 1 in bits 53-52, initiator in bit 51.
	first := uint16(11)<<6 | uint16(1)<<4 | uint16(1)<<3
	trigger := []byte{byte(first >> 8), byte(first), 0, 0, 0, 0x00, 0x2A, 14}
	trigger = append(trigger, exampleServerID...)

	credential := md5.Sum([]byte(exampleServerID + ":" + examplePassword))
	body := md5.Sum(trigger)
	input := base64.StdEncoding.EncodeToString(credential[:]) + ":" +
		"\x00\x00\x00\x00" + ":" + base64.StdEncoding.EncodeToString(body[:])
	digest := md5.Sum([]byte(input))

	return append(digest[:], trigger...)
}

func TestExampleMatchesNotes(t *testing.T) {
	msg := exampleMessage()
	if got := hex.EncodeToString(msg[DigestSize:]); got != exampleTriggerHex {
		t.Errorf("trigger = %s, want %s", got, exampleTriggerHex)
	}
	if got := hex.EncodeToString(msg[:DigestSize]); got != exampleDigestHex {
		t.Errorf("digest = %s, want %s", got, exampleDigestHex)
	}
}

func TestEncodeExample(t *testing.T) {
	got, err := Encode(exampleTrigger, exampleServerID, examplePassword, FallbackNonce())
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if want := exampleMessage(); !bytes.Equal(got, want) {
		t.Errorf("Encode = %x, want %x", got, want)
	}
}

func TestEncodeTakesServerIDArgument(t *testing.T) {
	trigger := exampleTrigger
	trigger.ServerID = ""
	got, err := Encode(trigger, exampleServerID, examplePassword, FallbackNonce())
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if want := exampleMessage(); !bytes.Equal(got, want) {
		t.Errorf("Encode = %x, want %x", got, want)
	}
}

func TestDecodeExample(t *testing.T) {
	msg := exampleMessage()
	got, digest, err := Decode(msg)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.Version != exampleTrigger.Version {
		t.Errorf("Version = %d, want %d", got.Version, exampleTrigger.Version)
	}
	if got.UIMode != exampleTrigger.UIMode {
		t.Errorf("UIMode = %d, want %d", got.UIMode, exampleTrigger.UIMode)
	}
	if got.Initiator != exampleTrigger.Initiator {
		t.Errorf("Initiator = %d, want %d", got.Initiator, exampleTrigger.Initiator)
	}
	if got.SessionID != exampleTrigger.SessionID {
		t.Errorf("SessionID = %#x, want %#x", got.SessionID, exampleTrigger.SessionID)
	}
	if got.ServerID != exampleServerID {
		t.Errorf("ServerID = %q, want %q", got.ServerID, exampleServerID)
	}
	if got.Vendor != nil {
		t.Errorf("Vendor = %x, want nil", got.Vendor)
	}
	if !bytes.Equal(digest[:], msg[:DigestSize]) {
		t.Errorf("digest = %x, want %x", digest, msg[:DigestSize])
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		trigger Trigger
	}{
		{"example", exampleTrigger},
		{"user interaction", Trigger{Version: MaxVersion, UIMode: UIModeUser,
			Initiator: InitiatorClient, SessionID: 0xFFFF, ServerID: "s"}},
		{"vendor bytes", Trigger{Version: VersionDM12, UIMode: UIModeInformative,
			Initiator: InitiatorServer, SessionID: 1, ServerID: "srv",
			Vendor: []byte{0, 1, 0xff}}},
		{"longest server id", Trigger{Version: VersionDM12,
			ServerID: string(bytes.Repeat([]byte("x"), MaxServerIDLen))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := Encode(tt.trigger, tt.trigger.ServerID, "pw", []byte("nonce"))
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, _, err := Decode(msg)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got.Version != tt.trigger.Version || got.UIMode != tt.trigger.UIMode ||
				got.Initiator != tt.trigger.Initiator || got.SessionID != tt.trigger.SessionID ||
				got.ServerID != tt.trigger.ServerID || !bytes.Equal(got.Vendor, tt.trigger.Vendor) {
				t.Errorf("Decode = %+v, want %+v", got, tt.trigger)
			}
		})
	}
}

func TestEncodeRejectsInvalidTrigger(t *testing.T) {
	valid := exampleTrigger
	with := func(change func(*Trigger)) Trigger {
		trigger := valid
		change(&trigger)
		return trigger
	}
	tests := []struct {
		name     string
		trigger  Trigger
		serverID string
	}{
		{"version too low", with(func(t *Trigger) { t.Version = MinVersion - 1 }), exampleServerID},
		{"version too high", with(func(t *Trigger) { t.Version = MaxVersion + 1 }), exampleServerID},
		{"version over 10 bits", with(func(t *Trigger) { t.Version = 1 << 10 }), exampleServerID},
		{"negative UI mode", with(func(t *Trigger) { t.UIMode = -1 }), exampleServerID},
		{"UI mode 4", with(func(t *Trigger) { t.UIMode = 4 }), exampleServerID},
		{"initiator 2", with(func(t *Trigger) { t.Initiator = 2 }), exampleServerID},
		{"empty server id", with(func(t *Trigger) { t.ServerID = "" }), ""},
		{"server id too long", with(func(t *Trigger) {
			t.ServerID = string(bytes.Repeat([]byte("x"), MaxServerIDLen+1))
		}), string(bytes.Repeat([]byte("x"), MaxServerIDLen+1))},
		{"server id mismatch", valid, "other.server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := Encode(tt.trigger, tt.serverID, examplePassword, nil)
			if err == nil {
				t.Fatalf("Encode = %x, want error", msg)
			}
			if msg != nil {
				t.Errorf("Encode returned %d bytes with the error", len(msg))
			}
		})
	}
}

func TestDecodeBadInput(t *testing.T) {
	example := exampleMessage()
	with := func(change func([]byte)) []byte {
		b := bytes.Clone(example)
		change(b)
		return b
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"digest only", example[:DigestSize]},
		{"one byte short of header", example[:MinSize-1]},
		{"server id truncated", example[:len(example)-1]},
		{"header only", example[:MinSize]},
		{"zero server id length", with(func(b []byte) { b[MinSize-1] = 0 })},
		{"server id length past end", with(func(b []byte) { b[MinSize-1] = 0xff })},
		{"lowest reserved bit", with(func(b []byte) { b[MinSize-4] |= 0x01 })},
		{"highest reserved bit", with(func(b []byte) { b[DigestSize+1] |= 0x04 })},
		{"version 0", with(func(b []byte) { b[DigestSize], b[DigestSize+1] = 0, 0x18 })},
		{"version 10", with(func(b []byte) { b[DigestSize+1] = 0x98 })},
		{"version 14", with(func(b []byte) { b[DigestSize+1] = 0x98; b[DigestSize] = 0x03 })},
		{"version 1023", with(func(b []byte) { b[DigestSize], b[DigestSize+1] = 0xff, 0xd8 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trigger, digest, err := Decode(tt.b)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode error = %v, want ErrMalformed", err)
			}
			if trigger.ServerID != "" || trigger.Vendor != nil || trigger.Version != 0 {
				t.Errorf("Decode returned trigger %+v with the error", trigger)
			}
			if digest != [DigestSize]byte{} {
				t.Errorf("Decode returned digest with the error")
			}
		})
	}
}

func TestDecodeErrorHidesDigest(t *testing.T) {
	msg := exampleMessage()
	msg[MinSize-4] |= 0x01
	_, _, err := Decode(msg)
	if err == nil {
		t.Fatal("Decode succeeded, want error")
	}
	if bytes.Contains([]byte(err.Error()), []byte(exampleDigestHex)) {
		t.Errorf("error %q contains the digest", err)
	}
}

func TestDecodeCopiesVendor(t *testing.T) {
	msg := append(exampleMessage(), 7, 8)
	trigger, _, err := Decode(msg)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	msg[len(msg)-1] = 0
	if !bytes.Equal(trigger.Vendor, []byte{7, 8}) {
		t.Errorf("Vendor = %x after changing the input, want 0708", trigger.Vendor)
	}
}

func TestSessionIDString(t *testing.T) {
	tests := []struct {
		id   uint16
		want string
	}{
		{0, "0"},
		{1, "1"},
		{0x2A, "2A"},
		{0x0ABC, "ABC"},
		{0xFFFF, "FFFF"},
	}
	for _, tt := range tests {
		if got := SessionIDString(tt.id); got != tt.want {
			t.Errorf("SessionIDString(%#x) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(exampleMessage())
	f.Add(append(exampleMessage(), 1, 2, 3))
	f.Add(make([]byte, MinSize))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		trigger, digest, err := Decode(b)
		if err != nil {
			return
		}

		// A decoded message re-encodes to the same bytes.
		encoded, err := trigger.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of decoded trigger: %v", err)
		}
		if got := append(digest[:], encoded...); !bytes.Equal(got, b) {
			t.Errorf("re-encoded = %x, want %x", got, b)
		}
		Verify(b, "pw", nil)
	})
}
