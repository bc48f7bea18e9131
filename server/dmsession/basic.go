package dmsession

import (
	"crypto/subtle"

	"github.com/virmo/virmo/dmauth"

	"github.com/virmo/virmo/syncml"
)

// verifyBasic reports whether cred is the syncml:auth-basic credential of
// the device's client user. Basic credentials are the password itself, so
// they are accepted only on a request that came over TLS. The credential
// is split at its first colon, so the password may contain colons.
func (t *turn) verifyBasic(cred *syncml.Cred) (bool, error) {
	if !t.req.tls {
		t.outcome = "basic auth without tls"
		return false, nil
	}
	user, password, err := dmauth.ParseBasic(cred.Data)
	if err != nil || user != t.device.ClientUser {
		return false, nil
	}
	want, err := t.clientPassword()
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(password), []byte(want)) == 1, nil
}
