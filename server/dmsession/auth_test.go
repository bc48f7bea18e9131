package dmsession

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/syncml"
)

func TestAuthOutcomes(t *testing.T) {
	tests := []struct {
		name string
		cred credential
		// replay sends the Cred with the nonce before the last rotation.
		replay bool
		want   []string
	}{
		{
			name: "valid md5",
			cred: credValid,
			want: []string{"Status 1/0 SyncHdr 212 chal", "Status 1/1 Alert 200",
				"Status 1/2 Replace 200", "Get#4 ./VirMO", "Final"},
		},
		{
			name: "missing cred",
			cred: credNone,
			want: []string{"Status 1/0 SyncHdr 407 chal", "Status 1/1 Alert 407",
				"Status 1/2 Replace 407", "Final"},
		},
		{
			name: "wrong password",
			cred: credWrong,
			want: []string{"Status 1/0 SyncHdr 401 chal", "Status 1/1 Alert 401",
				"Status 1/2 Replace 401", "Final"},
		},
		{
			name:   "replayed cred",
			cred:   credValid,
			replay: true,
			want: []string{"Status 1/0 SyncHdr 401 chal", "Status 1/1 Alert 401",
				"Status 1/2 Replace 401", "Final"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 0)
			d := f.newDevice("A1")
			if tt.replay {
				// An accepted session rotates the nonce; the device then
				// replays the Cred of that session in a new one.
				old := d.clientNonce
				d.send(d.build(credValid, true, pkg1()...))
				d.clientNonce = old
				d.newSession("A2")
			}
			before := f.storedDevice().ClientNonce

			reply := d.send(d.build(tt.cred, true, pkg1()...))
			expect(t, "package 1", reply, tt.want...)

			after := f.storedDevice().ClientNonce
			if bytes.Equal(after, before) {
				t.Errorf("client nonce not rotated")
			}
			if !bytes.Equal(after, d.clientNonce) {
				t.Errorf("stored client nonce differs from the NextNonce sent")
			}
			logs := f.logs.String()
			for _, secret := range []string{base64.StdEncoding.EncodeToString(after),
				string(before), testClientSecret, testServerSecret,
				dmauth.MD5Digest(testClientUser, testClientSecret, before)} {
				if strings.Contains(logs, secret) {
					t.Errorf("log output contains %q", secret)
				}
			}
		})
	}
}

func TestAuthRetryAfterChallenge(t *testing.T) {
	for _, first := range []credential{credNone, credWrong} {
		f := newFixture(t, 0)
		d := f.newDevice("R1")
		d.send(d.build(first, true, pkg1()...))

		reply := d.send(d.build(credValid, true, pkg1()...))
		expect(t, "retry with the challenged nonce", reply,
			"Status 2/0 SyncHdr 212 chal", "Status 2/1 Alert 200", "Status 2/2 Replace 200",
			"Get#4 ./VirMO", "Final")
	}
}

func TestAuthSameSessionReplayFails(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("S1")
	old := d.clientNonce
	d.send(d.build(credValid, true, pkg1()...))

	d.clientNonce = old
	reply := d.send(d.build(credValid, true, d.hdrOK()))
	expect(t, "replayed cred in the same session", reply, "Status 2/0 SyncHdr 401 chal", "Final")
}

func TestAuthMD5SpecVector(t *testing.T) {
	if got := dmauth.MD5Digest("Bruce2", "OhBehave", []byte("Nonce")); got != "Zz6EivR3yeaaENcRN6lpAQ==" {
		t.Fatalf("MD5Digest of the spec vector = %q, want Zz6EivR3yeaaENcRN6lpAQ==", got)
	}

	f := newFixture(t, 0)
	dev := f.storedDevice()
	dev.ClientUser = "Bruce2"
	dev.ClientSecretSealed = f.seal("OhBehave")
	dev.ClientNonce = []byte("Nonce")
	if err := f.store.UpdateDevice(context.Background(), dev); err != nil {
		t.Fatal(err)
	}
	d := f.newDevice("V1")
	m := d.build(credNone, true, pkg1()...)
	m.Header.Source.LocName = "Bruce2"
	m.Header.Cred = &syncml.Cred{
		Meta: &syncml.Meta{Type: syncml.AuthMD5, Format: "b64"},
		Data: "Zz6EivR3yeaaENcRN6lpAQ==",
	}
	reply := d.send(m)
	if got := describe(reply)[0]; got != "Status 1/0 SyncHdr 212 chal" {
		t.Fatalf("SyncHdr status = %q, want 212 with a Chal", got)
	}
}

func TestAuthWrongUserFails(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("U1")
	m := d.build(credValid, true, pkg1()...)
	m.Header.Source.LocName = "someone-else"
	reply := d.send(m)
	if got := describe(reply)[0]; got != "Status 1/0 SyncHdr 401 chal" {
		t.Fatalf("SyncHdr status = %q, want 401 with a Chal", got)
	}
}

func TestServerNonceFromDeviceChal(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("N1")
	d.send(d.build(credValid, true, pkg1()...))

	hdr := d.hdrOK()
	hdr.Chal = &syncml.Chal{Meta: &syncml.Meta{
		Type: syncml.AuthMD5, Format: "b64", NextNonce: "bmV3LXNlcnZlci1ub25jZQ==",
	}}
	d.serverNonce = []byte("new-server-nonce")
	// send checks that the reply's server Cred uses the new nonce.
	d.send(d.build(credNone, true, hdr, status("1", "4", syncml.CmdGet, 200),
		results("1", "4", "./VirMO", "")))

	if got := f.storedDevice().ServerNonce; string(got) != "new-server-nonce" {
		t.Fatalf("stored server nonce = %q, want new-server-nonce", got)
	}
}

// TestUnknownDeviceLooksLikeKnown checks that an unauthenticated message
// gets the same reply shape for an enrolled and an unknown DevID: the same
// statuses, a Chal with a fresh nonce, and no server credentials.
func TestUnknownDeviceLooksLikeKnown(t *testing.T) {
	tests := []struct {
		name string
		cred credential
		want string
	}{
		{"no credentials", credNone, "Status 1/0 SyncHdr 407 chal"},
		{"wrong credentials", credWrong, "Status 1/0 SyncHdr 401 chal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 0)
			replies := map[string]*syncml.Message{}
			var nonces []string
			for _, devID := range []string{testDevID, "IMEI:000000000000000", "IMEI:000000000000000"} {
				m := f.newDevice("X1").build(tt.cred, true, pkg1()...)
				m.Header.Source.LocURI = devID
				body, err := syncml.Encode(m)
				if err != nil {
					t.Fatal(err)
				}
				_, data := f.post(body)
				reply, err := syncml.Decode(data)
				if err != nil {
					t.Fatalf("decode reply: %v", err)
				}
				if reply.Header.Cred != nil {
					t.Errorf("reply for %s carries server credentials", devID)
				}
				_, chal := hdrStatus(t, reply)
				if chal == nil || chal.Meta == nil || chal.Meta.NextNonce == "" {
					t.Fatalf("reply for %s has no Chal with a NextNonce", devID)
				}
				nonces = append(nonces, chal.Meta.NextNonce)
				replies[devID] = reply
			}
			known, unknown := describe(replies[testDevID]), describe(replies["IMEI:000000000000000"])
			if strings.Join(known, "\n") != strings.Join(unknown, "\n") {
				t.Errorf("unknown device reply =\n%s\nknown device reply =\n%s",
					strings.Join(unknown, "\n"), strings.Join(known, "\n"))
			}
			if known[0] != tt.want {
				t.Errorf("first command = %q, want %q", known[0], tt.want)
			}
			if nonces[1] == nonces[2] {
				t.Errorf("two replies to an unknown device carry the same nonce %q", nonces[1])
			}
		})
	}
}
