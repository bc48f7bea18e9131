package notify

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// hintNonce sends a long-poll that names devID without credentials and
// returns the nonce of its 401.
func (f *fixture) hintNonce(t *testing.T, devID string) (*http.Response, []byte) {
	t.Helper()
	resp := f.get(t, FormatDeviceHint(devID), "?wait=0")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status of the device hint = %d, want 401", resp.StatusCode)
	}
	return resp, headerNonce(t, resp.Header.Get("WWW-Authenticate"), "nonce")
}

func TestDeviceHintNonceSignsRetry(t *testing.T) {
	f := newFixture(t)
	_, nonce := f.hintNonce(t, testDevID)

	resp := f.get(t, goodAuth(nonce), "?wait=0")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status of the signed retry = %d, want 204", resp.StatusCode)
	}
}

func TestDeviceHintKeepsFourNonces(t *testing.T) {
	f := newFixture(t)
	var nonces [][]byte
	for range maxNonces + 1 {
		_, nonce := f.hintNonce(t, testDevID)
		nonces = append(nonces, nonce)
	}

	// Each request issues a nonce, so test the kept one first.
	if resp := f.get(t, goodAuth(nonces[1]), "?wait=0"); resp.StatusCode != http.StatusNoContent {
		t.Errorf("status with the second nonce = %d, want 204", resp.StatusCode)
	}
	// The oldest nonce was dropped when the fifth was issued.
	if resp := f.get(t, goodAuth(nonces[0]), "?wait=0"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status with the dropped nonce = %d, want 401", resp.StatusCode)
	}
}

func TestDeviceHintUnknownLooksAlike(t *testing.T) {
	f := newFixture(t)
	known, knownNonce := f.hintNonce(t, testDevID)
	unknown, unknownNonce := f.hintNonce(t, "urn:uuid:not-enrolled")

	if len(knownNonce) != len(unknownNonce) {
		t.Errorf("nonce lengths = %d and %d, want equal", len(knownNonce), len(unknownNonce))
	}
	shape := func(r *http.Response) string {
		h := r.Header.Get("WWW-Authenticate")
		return h[:strings.Index(h, `nonce="`)]
	}
	if shape(known) != shape(unknown) {
		t.Errorf("WWW-Authenticate = %q and %q, want the same apart from the nonce",
			known.Header.Get("WWW-Authenticate"), unknown.Header.Get("WWW-Authenticate"))
	}
	knownBody, _ := io.ReadAll(known.Body)
	unknownBody, _ := io.ReadAll(unknown.Body)
	if string(knownBody) != string(unknownBody) {
		t.Errorf("bodies = %q and %q, want equal", knownBody, unknownBody)
	}
}

func TestParseDeviceHint(t *testing.T) {
	cases := []struct {
		name, header, want string
		ok                 bool
	}{
		{"hint", `SyncML-MD5 devid="urn:uuid:x"`, "urn:uuid:x", true},
		{"lower-case scheme", `syncml-md5 devid="IMEI:1"`, "IMEI:1", true},
		{"formatted", FormatDeviceHint("urn:uuid:y"), "urn:uuid:y", true},
		{"empty", "", "", false},
		{"other scheme", `Basic devid="a"`, "", false},
		{"no params", "SyncML-MD5", "", false},
		{"empty devid", `SyncML-MD5 devid=""`, "", false},
		{"with username", `SyncML-MD5 devid="a", username="b"`, "", false},
		{"full credential", goodAuth([]byte("nonce")), "", false},
		{"duplicate devid", `SyncML-MD5 devid="a", devid="b"`, "", false},
		{"quote inside", `SyncML-MD5 devid="a"b"`, "", false},
		{"too long", "SyncML-MD5 devid=\"" + strings.Repeat("a", 3000) + "\"", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDeviceHint(tc.header)
			if tc.ok && err != nil {
				t.Fatalf("ParseDeviceHint(%q): %v", tc.header, err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("ParseDeviceHint(%q) = %q, want an error", tc.header, got)
			}
			if got != tc.want {
				t.Errorf("ParseDeviceHint(%q) = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
}

func FuzzParseDeviceHint(f *testing.F) {
	f.Add(FormatDeviceHint("urn:uuid:x"))
	f.Add(`SyncML-MD5 devid="a",,, nonce=""`)
	f.Fuzz(func(t *testing.T, h string) {
		devID, err := ParseDeviceHint(h)
		if err == nil && devID == "" {
			t.Fatalf("accepted %q without a devid", h)
		}
	})
}
