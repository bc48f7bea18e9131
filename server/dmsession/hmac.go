package dmsession

import (
	"github.com/virmo/virmo/dmauth"
)

// HeaderHMAC is the HTTP header that carries syncml:auth-MAC credentials on
// requests and replies.
const HeaderHMAC = "x-syncml-hmac"

// verifyHMAC reports whether the x-syncml-hmac header of the request is a
// MAC of the exact body by the device's client user with the stored client
// nonce. A header that does not parse fails like a wrong MAC. Its parse
// error goes to the message's log line, which is safe because
// dmauth.ParseHMACHeader errors never contain the mac value. The header
// itself is never logged.
func (t *turn) verifyHMAC() (bool, error) {
	h, err := dmauth.ParseHMACHeader(t.req.hmacHeader)
	if err != nil {
		t.outcome = "invalid hmac header"
		t.outcomeErr = err
		return false, nil
	}
	if h.Username != t.device.ClientUser {
		return false, nil
	}
	password, err := t.clientPassword()
	if err != nil {
		return false, err
	}
	return dmauth.VerifyHMAC(h, password, t.device.ClientNonce, t.req.body), nil
}

// signReply returns the x-syncml-hmac header of the encoded reply: a MAC by
// the server user with the server password and the nonce the device last
// gave the server.
func (t *turn) signReply(reply []byte) (string, error) {
	password, err := t.serverPassword()
	if err != nil {
		return "", err
	}
	user := t.serverUser()
	return dmauth.FormatHMACHeader(dmauth.HMACHeader{
		Algorithm: dmauth.HMACAlgorithmMD5,
		Username:  user,
		MAC:       dmauth.ComputeHMAC(user, password, t.device.ServerNonce, reply),
	}), nil
}
