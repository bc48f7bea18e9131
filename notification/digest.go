package notification

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"strings"
)

// digest returns MD5(B64(MD5(serverID ":" password)) ":" nonce ":"
// B64(MD5(trigger))). The nonce is used as raw bytes.
func digest(serverID, password string, nonce, trigger []byte) [DigestSize]byte {
	credential := md5.Sum([]byte(serverID + ":" + password))
	body := md5.Sum(trigger)

	h := md5.New()
	h.Write([]byte(base64.StdEncoding.EncodeToString(credential[:])))
	h.Write([]byte(":"))
	h.Write(nonce)
	h.Write([]byte(":"))
	h.Write([]byte(base64.StdEncoding.EncodeToString(body[:])))

	var d [DigestSize]byte
	h.Sum(d[:0])
	return d
}

// Verify reports whether b is a well-formed message whose digest matches
// serverPassword and nonce. The digest is keyed with the server identifier
// inside the message, so the caller must still check that Decode's
// ServerID equals the ServerID of its DM account. The digests are compared
// in constant time.
func Verify(b []byte, serverPassword string, nonce []byte) bool {
	t, got, err := Decode(b)
	if err != nil {
		return false
	}

	want := digest(t.ServerID, serverPassword, nonce, b[DigestSize:])
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// FallbackNonce returns the nonce a client tries when the digest does not
// match its stored server nonce: four zero bytes. It returns a new slice on
// every call.
func FallbackNonce() []byte {
	return []byte{0, 0, 0, 0}
}

// VerifyWithFallback verifies b like Verify, first with nonce and then with
// FallbackNonce. ok reports whether either matched. usedFallback reports
// whether only the fallback nonce matched, in which case the client starts
// the session with credentials computed from FallbackNonce and expects the
// server to challenge with a fresh nonce. Both digests are always computed.
func VerifyWithFallback(b []byte, serverPassword string, nonce []byte) (usedFallback, ok bool) {
	t, got, err := Decode(b)
	if err != nil {
		return false, false
	}

	trigger := b[DigestSize:]
	want := digest(t.ServerID, serverPassword, nonce, trigger)
	fallback := digest(t.ServerID, serverPassword, FallbackNonce(), trigger)

	matched := subtle.ConstantTimeCompare(got[:], want[:]) == 1
	matchedFallback := subtle.ConstantTimeCompare(got[:], fallback[:]) == 1
	if matched {
		return false, true
	}
	return matchedFallback, matchedFallback
}

// SessionIDString returns the SyncML SessionID for a trigger session id:
// upper-case hex without leading zeros, "0" to "FFFF".
func SessionIDString(id uint16) string {
	return strings.ToUpper(strconv.FormatUint(uint64(id), 16))
}
