package dmauth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidCredential is returned, wrapped, for a credential that cannot be
// parsed. The wrapping error never contains the credential.
var ErrInvalidCredential = errors.New("invalid credential")

// BasicCredential returns the syncml:auth-basic credential
// B64(user ":" password) as it travels in Cred Data. The user name must not
// contain a colon, because ParseBasic splits at the first one.
func BasicCredential(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// ParseBasic decodes a syncml:auth-basic credential into the user name and
// password, splitting at the first colon, so the password may contain colons.
// Surrounding XML whitespace is ignored. It fails with ErrInvalidCredential
// when cred is not standard padded base64 or has no colon.
func ParseBasic(cred string) (user, password string, err error) {
	raw, err := base64.StdEncoding.DecodeString(strings.Trim(cred, " \t\r\n"))
	if err != nil {
		// The base64 error holds only an offset, never the input.
		return "", "", fmt.Errorf("parse basic credential: %w: not base64 (%v)",
			ErrInvalidCredential, err)
	}

	user, password, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", fmt.Errorf("parse basic credential: %w: no colon between user and password",
			ErrInvalidCredential)
	}
	return user, password, nil
}
