// Package dmauth computes and checks OMA DM credentials (syncml:auth-md5,
// syncml:auth-basic) and issues nonces. It does no I/O: callers store the
// nonces per account. TODO: replace the stubs with the implementation.
package dmauth

// MD5Digest returns the syncml:auth-md5 credential
// B64(MD5(B64(MD5(user ":" password)) ":" nonce)).
func MD5Digest(user, password string, nonce []byte) string { panic("dmauth: not implemented") }

// VerifyMD5 reports whether cred (the b64 Cred Data) matches, comparing in
// constant time.
func VerifyMD5(cred, user, password string, nonce []byte) bool { panic("dmauth: not implemented") }

// NewNonce returns 16 random bytes from crypto/rand.
func NewNonce() []byte { panic("dmauth: not implemented") }
