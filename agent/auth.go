package agent

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/mo/dmacc"
	"github.com/virmo/virmo/syncml"
)

// Credential types of Config.Auth and EnrollConfig.Auth, and the server's
// api.EnrollRequest.Auth.
const (
	// AuthMD5 is syncml:auth-md5, the default.
	AuthMD5 = "md5"
	// AuthHMAC is syncml:auth-MAC: a MAC of every message body in the
	// x-syncml-hmac HTTP header.
	AuthHMAC = "hmac"
	// AuthBasic is syncml:auth-basic, the password itself, sent only to
	// https URLs.
	AuthBasic = "basic"
)

// headerHMAC is the HTTP header that carries syncml:auth-MAC credentials.
const headerHMAC = "x-syncml-hmac"

// AAuthPref values of DMAcc for each credential type.
var authPrefs = map[string]string{
	AuthMD5:   dmacc.AuthDigest,
	AuthHMAC:  "HMAC",
	AuthBasic: "BASIC",
}

// checkAuth returns the credential type auth names, "" meaning md5, or an
// error for an unknown one.
func checkAuth(auth string) (string, error) {
	if auth == "" {
		return AuthMD5, nil
	}
	if _, ok := authPrefs[auth]; !ok {
		return "", fmt.Errorf("invalid auth type %q: use md5, hmac or basic", auth)
	}
	return auth, nil
}

// setAuthPref records the credential type of the account in its AAuthPref
// and in the AAuthType of both credentials.
func setAuthPref(tx *dmtree.Tx, auth string) error {
	base, err := accountBase(tx)
	if err != nil {
		return err
	}
	pref := authPrefs[auth]
	for _, leaf := range []string{"AAuthPref",
		"AppAuth/" + dmacc.LevelClient + "/AAuthType",
		"AppAuth/" + dmacc.LevelServer + "/AAuthType"} {
		if err := tx.SetValue(base+"/"+leaf, []byte(pref)); err != nil {
			return fmt.Errorf("set %s: %w", leaf, err)
		}
	}
	return nil
}

// accountAuth returns the credential type in the AAuthPref of the
// account that dmacc.Read returns; a missing AAuthPref means md5.
func accountAuth(tx *dmtree.Tx) (string, error) {
	base, err := accountBase(tx)
	if err != nil {
		return "", err
	}
	value, err := tx.Value(base + "/AAuthPref")
	var statusErr *dmtree.StatusError
	if errors.As(err, &statusErr) && statusErr.Code == syncml.StatusNotFound {
		return AuthMD5, nil
	}
	if err != nil {
		return "", fmt.Errorf("read AAuthPref: %w", err)
	}
	for auth, pref := range authPrefs {
		if string(value) == pref {
			return auth, nil
		}
	}
	return "", fmt.Errorf("DMAcc AAuthPref %q is not supported: use BASIC, DIGEST or HMAC", value)
}

// accountBase returns the path of the first account by node name, the
// one dmacc.Read returns.
func accountBase(tx *dmtree.Tx) (string, error) {
	root, err := tx.Node(dmacc.Root)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", dmacc.Root, err)
	}
	if len(root.Children) == 0 {
		return "", dmacc.ErrNoAccount
	}
	return dmacc.Root + "/" + slices.Min(root.Children), nil
}

// checkBasicURL rejects syncml:auth-basic to a URL other than https, where
// the password would travel in clear.
func checkBasicURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" {
		return fmt.Errorf("basic credentials are sent only over https; "+
			"server URL %q is not https: use an https server URL, or auth md5 or hmac", raw)
	}
	return nil
}

// clientCred returns the SyncHdr Cred of our message: md5 or basic, nil
// for hmac, whose credentials travel in the x-syncml-hmac header.
func (s *session) clientCred() *syncml.Cred {
	switch s.auth {
	case AuthBasic:
		return &syncml.Cred{
			Meta: &syncml.Meta{Type: syncml.AuthBasic, Format: "b64"},
			Data: dmauth.BasicCredential(s.acc.ClientUser, s.acc.ClientPassword),
		}
	case AuthHMAC:
		return nil
	default:
		return md5Cred(dmauth.MD5Digest(s.acc.ClientUser, s.acc.ClientPassword, s.acc.ClientNonce))
	}
}

// signature returns the x-syncml-hmac header for body under hmac, and ""
// for the other types.
func (s *session) signature(body []byte) string {
	if s.auth != AuthHMAC {
		return ""
	}
	return dmauth.FormatHMACHeader(dmauth.HMACHeader{
		Algorithm: dmauth.HMACAlgorithmMD5,
		Username:  s.acc.ClientUser,
		MAC:       dmauth.ComputeHMAC(s.acc.ClientUser, s.acc.ClientPassword, s.acc.ClientNonce, body),
	})
}

// serverUser is the user name the server signs with.
func (s *session) serverUser() string {
	if s.acc.ServerUser != "" {
		return s.acc.ServerUser
	}
	return s.acc.ServerID
}

// verifyServer reports whether the server's credentials in the reply are
// valid for the account's type: the Cred for md5 or basic, the
// x-syncml-hmac header over the exact reply body for hmac. md5 and hmac
// accept the server nonce we gave last or the one before it in this
// session, since the server may answer before it sees our change.
func (s *session) verifyServer(r *reply) bool {
	user := s.serverUser()
	nonces := [][]byte{s.acc.ServerNonce}
	if s.prevServerNonce != nil {
		nonces = append(nonces, s.prevServerNonce)
	}

	switch s.auth {
	case AuthHMAC:
		h, err := dmauth.ParseHMACHeader(r.hmac)
		if err != nil || h.Username != user {
			return false
		}
		for _, nonce := range nonces {
			if dmauth.VerifyHMAC(h, s.acc.ServerPassword, nonce, r.body) {
				return true
			}
		}
		return false
	case AuthBasic:
		cred := r.msg.Header.Cred
		if cred == nil || cred.Meta == nil || !strings.EqualFold(cred.Meta.Type, syncml.AuthBasic) {
			return false
		}
		gotUser, password, err := dmauth.ParseBasic(cred.Data)
		return err == nil && gotUser == user &&
			subtle.ConstantTimeCompare([]byte(password), []byte(s.acc.ServerPassword)) == 1
	default:
		cred := r.msg.Header.Cred
		if cred == nil || cred.Meta == nil || !strings.EqualFold(cred.Meta.Type, syncml.AuthMD5) {
			return false
		}
		if cred.Meta.Format != "" && cred.Meta.Format != "b64" {
			return false
		}
		for _, nonce := range nonces {
			if dmauth.VerifyMD5(cred.Data, user, s.acc.ServerPassword, nonce) {
				return true
			}
		}
		return false
	}
}

// serverChal returns the Chal that gives the server a new nonce for its
// next credentials, of the account's type; basic has no nonce.
func (s *session) serverChal(nonce []byte) *syncml.Chal {
	switch s.auth {
	case AuthBasic:
		return &syncml.Chal{Meta: &syncml.Meta{Type: syncml.AuthBasic, Format: "b64"}}
	case AuthHMAC:
		chal := md5Chal(nonce)
		chal.Meta.Type = syncml.AuthMAC
		return chal
	default:
		return md5Chal(nonce)
	}
}

// wireAuthType returns the Meta Type of the account's credential type.
func (s *session) wireAuthType() string {
	switch s.auth {
	case AuthBasic:
		return syncml.AuthBasic
	case AuthHMAC:
		return syncml.AuthMAC
	default:
		return syncml.AuthMD5
	}
}
