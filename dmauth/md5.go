package dmauth

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
)

// NonceSize is the length in bytes of the nonces NewNonce returns: 128 bits,
// the minimum OMA DM 1.2 recommends.
const NonceSize = 16

// MD5Digest returns the syncml:auth-md5 credential
// B64(MD5(B64(MD5(user ":" password)) ":" nonce)) as it travels in Cred
// Data. The nonce is used as raw bytes, as the peer sent it after base64
// decoding its NextNonce.
func MD5Digest(user, password string, nonce []byte) string {
	inner := md5.Sum([]byte(user + ":" + password))
	innerB64 := base64.StdEncoding.EncodeToString(inner[:])

	outer := md5.New()
	outer.Write([]byte(innerB64))
	outer.Write([]byte(":"))
	outer.Write(nonce)
	return base64.StdEncoding.EncodeToString(outer.Sum(nil))
}

// VerifyMD5 reports whether cred (the b64 Cred Data) matches the credential
// of user, password and nonce. It compares in constant time, and the lengths
// must match exactly: no trimming, padding or prefix match.
func VerifyMD5(cred, user, password string, nonce []byte) bool {
	want := MD5Digest(user, password, nonce)
	return subtle.ConstantTimeCompare([]byte(cred), []byte(want)) == 1
}

// NewNonce returns NonceSize random bytes from crypto/rand.
func NewNonce() []byte {
	nonce := make([]byte, NonceSize)
	// crypto/rand.Read never returns an error since Go 1.24: it crashes the
	// program instead when the system source fails.
	rand.Read(nonce)
	return nonce
}
