package dmsession

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
)

// formatB64 is the Meta Format of Cred Data and of NextNonce.
const formatB64 = "b64"

// authOther is the credential type of a Cred whose Meta Type this server
// does not support (syncml:auth-X509, for example).
const authOther = "other"

// accountAuth returns the credential type of the device's account: md5
// unless the device was enrolled with another.
func (t *turn) accountAuth() string {
	if t.device.AuthType == "" {
		return store.AuthMD5
	}
	return t.device.AuthType
}

// messageAuth returns the credential type the message carries: hmac for an
// x-syncml-hmac header, md5 or basic for a SyncHdr Cred (a Cred without
// Meta Type is syncml:auth-basic by SyncML default), or "" for none.
func (t *turn) messageAuth() string {
	if t.req.hmacHeader != "" {
		return store.AuthHMAC
	}
	cred := t.in.Header.Cred
	if cred == nil || strings.TrimSpace(cred.Data) == "" {
		return ""
	}
	if cred.Meta == nil || cred.Meta.Type == "" || strings.EqualFold(cred.Meta.Type, syncml.AuthBasic) {
		return store.AuthBasic
	}
	if strings.EqualFold(cred.Meta.Type, syncml.AuthMD5) {
		return store.AuthMD5
	}
	return authOther
}

// authenticate checks the message's credentials against the device's
// client credentials and returns the SyncHdr status:
//   - 212 for valid md5 or basic credentials, or none in a later message of
//     a session they authenticated;
//   - 200 for a valid MAC, which every message must carry;
//   - 407 when the credentials are missing;
//   - 401 when they are wrong, of another type than the account's, or
//     basic over plain HTTP. A type other than the one the session
//     authenticated with also ends the session.
//
// Every check of md5 or MAC credentials rotates the client nonce and
// returns a Chal of the account's type carrying the new one, so a
// credential is valid for one message only and a replay fails.
func (t *turn) authenticate() (int, *syncml.Chal, error) {
	want := t.accountAuth()
	used := t.messageAuth()

	if t.st.AuthType != "" && used != "" && used != t.st.AuthType {
		t.outcome = "auth type changed"
		t.st.Authenticated = false
		t.st.Ended = true
		return syncml.StatusInvalidCredentials, t.challenge(want), nil
	}
	if used == "" {
		if t.st.Authenticated && want != store.AuthHMAC {
			return syncml.StatusAuthAccepted, nil, nil
		}
		t.st.Authenticated = false
		return syncml.StatusMissingCredentials, t.challenge(want), nil
	}
	if used != want {
		t.st.Authenticated = false
		return syncml.StatusInvalidCredentials, t.challenge(want), nil
	}

	var ok bool
	var err error
	switch used {
	case store.AuthMD5:
		ok, err = t.verifyMD5(t.in.Header.Cred)
	case store.AuthHMAC:
		ok, err = t.verifyHMAC()
	case store.AuthBasic:
		ok, err = t.verifyBasic(t.in.Header.Cred)
	}
	if err != nil {
		return 0, nil, err
	}
	chal := t.challenge(want)
	t.st.Authenticated = ok
	if !ok {
		return syncml.StatusInvalidCredentials, chal, nil
	}
	t.st.AuthType = used
	if used == store.AuthHMAC {
		// A MAC authenticates one message only, so the status is 200.
		return syncml.StatusOK, chal, nil
	}
	return syncml.StatusAuthAccepted, chal, nil
}

// verifyMD5 reports whether cred is a syncml:auth-md5 credential of the
// device's client user made with the stored client nonce.
func (t *turn) verifyMD5(cred *syncml.Cred) (bool, error) {
	user := t.in.Header.Source.LocName
	if user != "" && user != t.device.ClientUser {
		return false, nil
	}
	password, err := t.clientPassword()
	if err != nil {
		return false, err
	}
	data := strings.TrimSpace(cred.Data)
	return dmauth.VerifyMD5(data, t.device.ClientUser, password, t.device.ClientNonce), nil
}

func (t *turn) clientPassword() (string, error) {
	password, err := t.e.cfg.Sealer.Open(t.device.ClientSecretSealed)
	if err != nil {
		return "", fmt.Errorf("open client password of device %s: %w", t.device.ID, err)
	}
	return string(password), nil
}

func (t *turn) serverPassword() (string, error) {
	password, err := t.e.cfg.Sealer.Open(t.device.ServerSecretSealed)
	if err != nil {
		return "", fmt.Errorf("open server password of device %s: %w", t.device.ID, err)
	}
	return string(password), nil
}

// challenge returns the Chal of credential type kind. For md5 and hmac it
// gives the device a fresh client nonce and carries it. syncml:auth-basic
// has no nonce.
func (t *turn) challenge(kind string) *syncml.Chal {
	if kind == store.AuthBasic {
		return &syncml.Chal{Meta: &syncml.Meta{Type: syncml.AuthBasic, Format: formatB64}}
	}
	nonce := dmauth.NewNonce()
	t.device.ClientNonce = nonce
	t.deviceChanged = true
	return &syncml.Chal{Meta: &syncml.Meta{
		Type:      wireAuthType(kind),
		Format:    formatB64,
		NextNonce: base64.StdEncoding.EncodeToString(nonce),
	}}
}

// decoyChallenge returns the SyncHdr status and Chal for a message from an
// unknown DevID. The status is 407 without credentials and 401 with them,
// as a known device gets. The Chal has the type the message used (md5 when
// it used none or an unsupported one). Except under basic, it carries a
// fresh random nonce that is not stored.
func (t *turn) decoyChallenge() (int, *syncml.Chal) {
	used := t.messageAuth()
	code := syncml.StatusInvalidCredentials
	if used == "" {
		code = syncml.StatusMissingCredentials
	}
	kind := used
	if kind != store.AuthHMAC && kind != store.AuthBasic {
		kind = store.AuthMD5
	}
	if kind == store.AuthBasic {
		return code, &syncml.Chal{Meta: &syncml.Meta{Type: syncml.AuthBasic, Format: formatB64}}
	}
	return code, &syncml.Chal{Meta: &syncml.Meta{
		Type:      wireAuthType(kind),
		Format:    formatB64,
		NextNonce: base64.StdEncoding.EncodeToString(dmauth.NewNonce()),
	}}
}

// wireAuthType returns the Meta Type of credential type kind.
func wireAuthType(kind string) string {
	switch kind {
	case store.AuthHMAC:
		return syncml.AuthMAC
	case store.AuthBasic:
		return syncml.AuthBasic
	default:
		return syncml.AuthMD5
	}
}

// serverUser returns the user name of the server credentials: the
// ServerID that the device stores for this server.
func (t *turn) serverUser() string {
	if t.device.ServerID != "" {
		return t.device.ServerID
	}
	return t.e.cfg.ServerID
}

// serverCred returns the Cred of the server for the SyncHdr of the reply.
// For an md5 account it is syncml:auth-md5, made with the server password
// and the nonce the device last gave the server. For a basic account it is
// syncml:auth-basic. For a MAC account it is nil, because its credentials
// travel in the x-syncml-hmac header.
func (t *turn) serverCred() (*syncml.Cred, error) {
	kind := t.accountAuth()
	if kind == store.AuthHMAC {
		return nil, nil
	}
	password, err := t.serverPassword()
	if err != nil {
		return nil, err
	}
	if kind == store.AuthBasic {
		return &syncml.Cred{
			Meta: &syncml.Meta{Type: syncml.AuthBasic, Format: formatB64},
			Data: dmauth.BasicCredential(t.serverUser(), password),
		}, nil
	}
	return &syncml.Cred{
		Meta: &syncml.Meta{Type: syncml.AuthMD5, Format: formatB64},
		Data: dmauth.MD5Digest(t.serverUser(), password, t.device.ServerNonce),
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
