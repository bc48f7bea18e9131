package notify

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/store"
)

// AuthScheme is the HTTP authentication scheme of the long-poll. Its
// digest is the syncml:auth-md5 credential of the device's client user
// made with a nonce the server issued for the long-poll:
//
//	Authorization: SyncML-MD5 devid="<DevId>", username="<user>", nonce="<b64>", digest="<b64>"
//
// A request without a nonce names the device alone, and gets 401 with a
// nonce stored for that device (see ParseDeviceHint):
//
//	Authorization: SyncML-MD5 devid="<DevId>"
//
// A 401 carries `WWW-Authenticate: SyncML-MD5 realm="virmo-notify",
// nonce="<b64>"`, and every 200 and 204 carries the nonce of the next
// request in `Authentication-Info: nextnonce="<b64>"`.
const (
	AuthScheme = "SyncML-MD5"
	authRealm  = "virmo-notify"
)

// Limits of long-poll nonces. A device has at most maxNonces outstanding,
// so a stranger who has only its DevId cannot invalidate the nonce the
// agent holds with one request.
const (
	maxNonces = 4
	nonceTTL  = 10 * time.Minute
	// maxAuthHeader bounds the Authorization header parsed.
	maxAuthHeader = 2048
)

// Credential is the parsed Authorization header of a long-poll.
type Credential struct {
	DevID    string
	Username string
	Nonce    []byte
	Digest   string
}

// ParseAuthorization parses an Authorization header of AuthScheme. Errors
// never contain the nonce or digest.
func ParseAuthorization(h string) (Credential, error) {
	if len(h) > maxAuthHeader {
		return Credential{}, fmt.Errorf("authorization header is longer than %d bytes", maxAuthHeader)
	}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, AuthScheme) {
		return Credential{}, fmt.Errorf("authorization scheme is not %s", AuthScheme)
	}
	params, err := parseParams(rest)
	if err != nil {
		return Credential{}, err
	}
	c := Credential{DevID: params["devid"], Username: params["username"], Digest: params["digest"]}
	if c.DevID == "" || c.Username == "" || c.Digest == "" || params["nonce"] == "" {
		return Credential{}, errors.New("authorization lacks devid, username, nonce or digest")
	}
	c.Nonce, err = base64.StdEncoding.DecodeString(params["nonce"])
	if err != nil || len(c.Nonce) == 0 {
		return Credential{}, errors.New("authorization nonce is not base64")
	}
	return c, nil
}

// ParseDeviceHint parses an Authorization header of AuthScheme that names
// the device and carries no credentials: a devid parameter and no other.
// The server replies to it with 401 and a nonce stored for that DevId, so the
// client's next request can be signed.
func ParseDeviceHint(h string) (devID string, err error) {
	if len(h) > maxAuthHeader {
		return "", fmt.Errorf("authorization header is longer than %d bytes", maxAuthHeader)
	}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, AuthScheme) {
		return "", fmt.Errorf("authorization scheme is not %s", AuthScheme)
	}
	params, err := parseParams(rest)
	if err != nil {
		return "", err
	}
	if len(params) != 1 || params["devid"] == "" {
		return "", errors.New("a device hint has exactly one parameter, devid")
	}
	return params["devid"], nil
}

// FormatDeviceHint returns the Authorization header value of a long-poll
// that names the device devID without credentials.
func FormatDeviceHint(devID string) string {
	return fmt.Sprintf(`%s devid=%q`, AuthScheme, devID)
}

// FormatAuthorization returns the Authorization header value of a
// long-poll for the client credentials user and password.
func FormatAuthorization(devID, user, password string, nonce []byte) string {
	return fmt.Sprintf(`%s devid=%q, username=%q, nonce="%s", digest="%s"`, AuthScheme,
		devID, user, base64.StdEncoding.EncodeToString(nonce),
		dmauth.MD5Digest(user, password, nonce))
}

// parseParams parses comma-separated key="value" pairs. Values may not
// contain quotes or backslashes; every value this scheme sends is a DevId,
// a user name or base64.
func parseParams(s string) (map[string]string, error) {
	params := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("authorization parameter %q has no value", truncate(key))
		}
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		if strings.ContainsAny(value, "\"\\") {
			return nil, fmt.Errorf("authorization parameter %q has a quote or backslash inside", truncate(key))
		}
		if _, dup := params[key]; dup {
			return nil, fmt.Errorf("authorization parameter %q appears twice", truncate(key))
		}
		params[key] = value
	}
	return params, nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// issuedNonce is one outstanding long-poll nonce of a device.
type issuedNonce struct {
	Nonce   []byte    `json:"n"`
	Expires time.Time `json:"exp"`
}

func nonceKey(deviceID string) string { return "notify.nonces/" + deviceID }

func loadNonces(ctx context.Context, q store.Queries, deviceID string, now time.Time) ([]issuedNonce, error) {
	data, err := q.GetSetting(ctx, nonceKey(deviceID))
	if errors.Is(err, store.ErrNotFound) || (err == nil && len(data) == 0) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load long-poll nonces of %s: %w", deviceID, err)
	}
	var all []issuedNonce
	if json.Unmarshal(data, &all) != nil {
		return nil, nil
	}
	live := all[:0]
	for _, n := range all {
		if now.Before(n.Expires) {
			live = append(live, n)
		}
	}
	return live, nil
}

// takeNonce removes nonce from the outstanding nonces and reports whether
// it was there. The nonces are compared in constant time.
func takeNonce(nonces []issuedNonce, nonce []byte) ([]issuedNonce, bool) {
	for i, n := range nonces {
		if subtle.ConstantTimeCompare(n.Nonce, nonce) == 1 {
			return append(nonces[:i:i], nonces[i+1:]...), true
		}
	}
	return nonces, false
}

// issueNonce appends a fresh nonce, drops the oldest beyond maxNonces,
// stores the list and returns the new nonce.
func issueNonce(ctx context.Context, q store.Queries, deviceID string, nonces []issuedNonce,
	now time.Time) ([]byte, error) {
	fresh := dmauth.NewNonce()
	nonces = append(nonces, issuedNonce{Nonce: fresh, Expires: now.Add(nonceTTL)})
	if len(nonces) > maxNonces {
		nonces = nonces[len(nonces)-maxNonces:]
	}
	data, err := json.Marshal(nonces)
	if err != nil {
		return nil, fmt.Errorf("encode long-poll nonces: %w", err)
	}
	if err := q.PutSetting(ctx, nonceKey(deviceID), data); err != nil {
		return nil, fmt.Errorf("store long-poll nonces of %s: %w", deviceID, err)
	}
	return fresh, nil
}
