package dmsession

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/syncml"
)

// formatB64 is the Meta Format of Cred Data and of NextNonce.
const formatB64 = "b64"

// authenticate checks the SyncHdr Cred against the device's client
// credentials and returns the SyncHdr status: 212 when the Cred is valid,
// or when it is absent from a later message of an authenticated session;
// 407 when it is missing; 401 when it is wrong. Every check of a Cred
// rotates the client nonce and returns a Chal carrying the new one, so a
// Cred is valid for one message only and a replayed Cred fails.
func (t *turn) authenticate() (int, *syncml.Chal, error) {
	cred := t.in.Header.Cred
	if cred == nil || strings.TrimSpace(cred.Data) == "" {
		if t.st.Authenticated {
			return syncml.StatusAuthAccepted, nil, nil
		}
		return syncml.StatusMissingCredentials, t.rotateClientNonce(), nil
	}

	ok, err := t.verifyCred(cred)
	if err != nil {
		return 0, nil, err
	}
	chal := t.rotateClientNonce()
	t.st.Authenticated = ok
	if !ok {
		return syncml.StatusInvalidCredentials, chal, nil
	}
	return syncml.StatusAuthAccepted, chal, nil
}

// verifyCred reports whether cred is a syncml:auth-md5 credential of the
// device's client user made with the stored client nonce.
func (t *turn) verifyCred(cred *syncml.Cred) (bool, error) {
	if cred.Meta == nil || !strings.EqualFold(cred.Meta.Type, syncml.AuthMD5) {
		// NOTE: only syncml:auth-md5 is accepted; a Cred without Meta Type
		// is syncml:auth-basic by SyncML default and fails here.
		return false, nil
	}
	user := t.in.Header.Source.LocName
	if user != "" && user != t.device.ClientUser {
		return false, nil
	}
	password, err := t.e.cfg.Sealer.Open(t.device.ClientSecretSealed)
	if err != nil {
		return false, fmt.Errorf("open client password of device %s: %w", t.device.ID, err)
	}
	data := strings.TrimSpace(cred.Data)
	return dmauth.VerifyMD5(data, t.device.ClientUser, string(password), t.device.ClientNonce), nil
}

// rotateClientNonce gives the device a fresh client nonce and returns the
// Chal that carries it.
func (t *turn) rotateClientNonce() *syncml.Chal {
	nonce := dmauth.NewNonce()
	t.device.ClientNonce = nonce
	t.deviceChanged = true
	return &syncml.Chal{Meta: &syncml.Meta{
		Type:      syncml.AuthMD5,
		Format:    formatB64,
		NextNonce: base64.StdEncoding.EncodeToString(nonce),
	}}
}

// serverUser is the user name of the server credentials: the ServerID the
// device knows this server by.
func (t *turn) serverUser() string {
	if t.device.ServerID != "" {
		return t.device.ServerID
	}
	return t.e.cfg.ServerID
}

// serverCred returns the syncml:auth-md5 Cred of the server, made with the
// server password and the nonce the device last gave the server.
func (t *turn) serverCred() (*syncml.Cred, error) {
	password, err := t.e.cfg.Sealer.Open(t.device.ServerSecretSealed)
	if err != nil {
		return nil, fmt.Errorf("open server password of device %s: %w", t.device.ID, err)
	}
	return &syncml.Cred{
		Meta: &syncml.Meta{Type: syncml.AuthMD5, Format: formatB64},
		Data: dmauth.MD5Digest(t.serverUser(), string(password), t.device.ServerNonce),
	}, nil
}

// takeServerNonce stores the NextNonce of the device's Chal for the server
// credentials of the next message. The caller has authenticated the
// device, so an unauthenticated peer never changes the stored nonce.
func (t *turn) takeServerNonce(chal *syncml.Chal) {
	if chal == nil || chal.Meta == nil || chal.Meta.NextNonce == "" {
		return
	}
	nonce, err := base64.StdEncoding.DecodeString(strings.TrimSpace(chal.Meta.NextNonce))
	if err != nil {
		t.e.log.Warn("ignore server nonce that is not base64", "device", t.device.ID,
			"session", t.in.Header.SessionID)
		return
	}
	t.device.ServerNonce = nonce
	t.deviceChanged = true
}
