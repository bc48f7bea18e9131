package notify

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseAuthorizationRoundTrip(t *testing.T) {
	h := FormatAuthorization("urn:uuid:x", "dev-1", "pw", []byte("nonce"))
	c, err := ParseAuthorization(h)
	if err != nil {
		t.Fatalf("ParseAuthorization: %v", err)
	}
	if c.DevID != "urn:uuid:x" || c.Username != "dev-1" || !bytes.Equal(c.Nonce, []byte("nonce")) {
		t.Errorf("parsed %+v, want devid urn:uuid:x, user dev-1, nonce \"nonce\"", c)
	}
}

func TestParseAuthorizationRejectsBadInput(t *testing.T) {
	cases := []struct{ name, header string }{
		{"empty", ""},
		{"other scheme", `Digest username="a"`},
		{"no params", "SyncML-MD5"},
		{"missing digest", `SyncML-MD5 devid="a", username="b", nonce="bm9uY2U="`},
		{"nonce not base64", `SyncML-MD5 devid="a", username="b", nonce="!!", digest="x"`},
		{"param without value", `SyncML-MD5 devid, username="b", nonce="bm9uY2U=", digest="x"`},
		{"quote inside", `SyncML-MD5 devid="a"b", username="b", nonce="bm9uY2U=", digest="x"`},
		{"duplicate", `SyncML-MD5 devid="a", devid="c", username="b", nonce="bm9uY2U=", digest="x"`},
		{"too long", "SyncML-MD5 devid=\"" + strings.Repeat("a", 3000) + "\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseAuthorization(tc.header); err == nil {
				t.Fatalf("ParseAuthorization(%q) succeeded, want an error", tc.header)
			}
		})
	}
}

func TestParseAuthorizationKeepsSecretsOutOfErrors(t *testing.T) {
	h := `SyncML-MD5 devid="a", username="b", nonce="c2VjcmV0LW5vbmNl", digest="SECRETDIGEST"`
	_, err := ParseAuthorization(strings.Replace(h, `nonce="c2VjcmV0LW5vbmNl", `, "", 1))
	if err == nil || strings.Contains(err.Error(), "SECRETDIGEST") {
		t.Fatalf("error %v, want one without the digest", err)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(FormatAuthorization("urn:uuid:x", "dev-1", "pw", []byte("nonce")))
	f.Add(`SyncML-MD5 devid="a",,, nonce=""`)
	f.Fuzz(func(t *testing.T, h string) {
		c, err := ParseAuthorization(h)
		if err == nil && (c.DevID == "" || len(c.Nonce) == 0) {
			t.Fatalf("accepted %q without devid or nonce", h)
		}
	})
}

func FuzzParseUDPAddr(f *testing.F) {
	f.Add("127.0.0.1:2948")
	f.Add("[::1]")
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := ParseUDPAddr(s)
		if err == nil && (!ap.IsValid() || ap.Port() == 0) {
			t.Fatalf("accepted %q as %s", s, ap)
		}
	})
}
