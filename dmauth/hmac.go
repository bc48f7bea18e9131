package dmauth

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// HMACHeaderName is the HTTP header that carries syncml:auth-MAC.
const HMACHeaderName = "x-syncml-hmac"

// HMACAlgorithmMD5 is the only algorithm syncml:auth-MAC defines, and the
// default when the header has no algorithm parameter.
const HMACAlgorithmMD5 = "MD5"

// MaxHMACHeaderLen is the longest x-syncml-hmac value ParseHMACHeader
// accepts, in bytes. A valid header with a user name of a few hundred bytes
// fits easily.
const MaxHMACHeaderLen = 1024

// ErrInvalidHMACHeader is returned, wrapped, for an x-syncml-hmac value that
// cannot be parsed. The wrapping error never contains the mac value.
var ErrInvalidHMACHeader = errors.New("invalid x-syncml-hmac header")

// HMACHeader is the content of an x-syncml-hmac header.
type HMACHeader struct {
	Algorithm string // HMACAlgorithmMD5 after ParseHMACHeader
	Username  string // LocName of the sender
	MAC       string // base64 digest of the message body
}

// ParseHMACHeader parses an x-syncml-hmac value such as
// `algorithm=MD5, username="Bruce2", mac=urdCeS3JUmjFgi8SX3webw==`.
// Parameters are comma-separated name=value pairs with optional spaces or
// tabs around the commas and equals signs. Names are case-insensitive.
// A value is either unquoted or a quoted string in which a backslash escapes
// the next character. Username and mac are required and must not be empty.
// Algorithm defaults to MD5 and is the only one accepted, in any case.
// Unknown parameters are ignored, but a repeated name is an error, and so
// is a value longer than MaxHMACHeaderLen. Errors wrap ErrInvalidHMACHeader
// and never contain the mac value.
func ParseHMACHeader(v string) (HMACHeader, error) {
	if len(v) > MaxHMACHeaderLen {
		return HMACHeader{}, fmt.Errorf("%w: %d bytes exceeds the maximum of %d",
			ErrInvalidHMACHeader, len(v), MaxHMACHeaderLen)
	}

	params, err := parseParams(v)
	if err != nil {
		return HMACHeader{}, fmt.Errorf("%w: %v", ErrInvalidHMACHeader, err)
	}

	h := HMACHeader{Algorithm: HMACAlgorithmMD5}
	if algorithm, ok := params["algorithm"]; ok {
		if !strings.EqualFold(algorithm, HMACAlgorithmMD5) {
			return HMACHeader{}, fmt.Errorf("%w: unsupported algorithm %.32q: only MD5 is accepted",
				ErrInvalidHMACHeader, algorithm)
		}
	}

	h.Username = params["username"]
	if h.Username == "" {
		return HMACHeader{}, fmt.Errorf("%w: missing username", ErrInvalidHMACHeader)
	}
	h.MAC = params["mac"]
	if h.MAC == "" {
		return HMACHeader{}, fmt.Errorf("%w: missing mac", ErrInvalidHMACHeader)
	}
	return h, nil
}

// parseParams splits v into lower-cased names and unquoted values. Its
// errors name positions and parameter names, never values.
func parseParams(v string) (map[string]string, error) {
	params := make(map[string]string)
	p := paramScanner{s: v}

	p.skipSpace()
	if p.done() {
		return nil, errors.New("empty value")
	}
	for {
		name, err := p.name()
		if err != nil {
			return nil, err
		}

		p.skipSpace()
		if !p.consume('=') {
			return nil, fmt.Errorf("missing '=' after parameter %q", name)
		}
		p.skipSpace()

		value, err := p.value()
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %v", name, err)
		}
		if _, dup := params[name]; dup {
			return nil, fmt.Errorf("duplicate parameter %q", name)
		}
		params[name] = value

		p.skipSpace()
		if p.done() {
			return params, nil
		}
		if !p.consume(',') {
			return nil, fmt.Errorf("missing ',' after parameter %q at byte %d", name, p.pos)
		}
		p.skipSpace()
	}
}

// paramScanner reads the auth-param list of an x-syncml-hmac value.
type paramScanner struct {
	s   string
	pos int
}

func (p *paramScanner) done() bool { return p.pos >= len(p.s) }

func (p *paramScanner) skipSpace() {
	for !p.done() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *paramScanner) consume(c byte) bool {
	if !p.done() && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// name reads an HTTP token (RFC 9110 tchar) and returns it in lower case.
func (p *paramScanner) name() (string, error) {
	start := p.pos
	for !p.done() && isTokenChar(p.s[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		return "", fmt.Errorf("missing parameter name at byte %d", start)
	}
	return strings.ToLower(p.s[start:p.pos]), nil
}

// value reads a quoted string or an unquoted run of visible characters.
func (p *paramScanner) value() (string, error) {
	if p.consume('"') {
		return p.quoted()
	}

	start := p.pos
	for !p.done() && isUnquotedChar(p.s[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		return "", fmt.Errorf("missing or invalid value at byte %d", start)
	}
	return p.s[start:p.pos], nil
}

// quoted reads the rest of a quoted string after its opening quote.
func (p *paramScanner) quoted() (string, error) {
	var b strings.Builder
	for !p.done() {
		c := p.s[p.pos]
		p.pos++
		switch {
		case c == '"':
			return b.String(), nil
		case c == '\\':
			if p.done() {
				return "", errors.New("unterminated quoted value")
			}
			c = p.s[p.pos]
			p.pos++
			if isControl(c) {
				return "", fmt.Errorf("control character at byte %d", p.pos-1)
			}
		case isControl(c):
			return "", fmt.Errorf("control character at byte %d", p.pos-1)
		}
		b.WriteByte(c)
	}
	return "", errors.New("unterminated quoted value")
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isUnquotedChar reports whether c may appear in an unquoted value: visible
// ASCII or a byte of a UTF-8 sequence, except the separators , " and \.
func isUnquotedChar(c byte) bool {
	if isControl(c) || c == ' ' {
		return false
	}
	return c != ',' && c != '"' && c != '\\'
}

// isControl reports whether c is an ASCII control character other than tab.
// Tab is allowed inside quoted values, as in HTTP.
func isControl(c byte) bool {
	return (c < 0x20 && c != '\t') || c == 0x7f
}

// FormatHMACHeader returns the x-syncml-hmac value for h, such as
// `algorithm=MD5, username="Bruce2", mac=urdCeS3JUmjFgi8SX3webw==`. It
// writes MD5 when h.Algorithm is empty, always quotes the username and
// quotes the mac only when it contains a separator. Fields must not contain
// control characters other than tab, because no header can carry them
// (net/http rejects such a header value).
func FormatHMACHeader(h HMACHeader) string {
	algorithm := h.Algorithm
	if algorithm == "" {
		algorithm = HMACAlgorithmMD5
	}

	mac := h.MAC
	if mac == "" || strings.IndexFunc(mac, func(r rune) bool {
		return r < 0x80 && !isUnquotedChar(byte(r))
	}) >= 0 {
		mac = quote(mac)
	}
	return "algorithm=" + algorithm + ", username=" + quote(h.Username) + ", mac=" + mac
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// ComputeHMAC returns the syncml:auth-MAC digest
// B64(MD5(B64(MD5(user ":" password)) ":" nonce ":" B64(MD5(body)))), where
// body is the exact HTTP body (XML or WBXML) and nonce the raw bytes of the
// last NextNonce the peer sent.
func ComputeHMAC(user, password string, nonce, body []byte) string {
	credential := md5.Sum([]byte(user + ":" + password))
	bodyDigest := md5.Sum(body)

	outer := md5.New()
	outer.Write([]byte(base64.StdEncoding.EncodeToString(credential[:])))
	outer.Write([]byte(":"))
	outer.Write(nonce)
	outer.Write([]byte(":"))
	outer.Write([]byte(base64.StdEncoding.EncodeToString(bodyDigest[:])))
	return base64.StdEncoding.EncodeToString(outer.Sum(nil))
}

// VerifyHMAC reports whether h.MAC is the digest of body for h.Username,
// password and nonce. The algorithm must be MD5 (any case) or empty. The
// comparison is constant time and exact: no trimming and no prefix match.
func VerifyHMAC(h HMACHeader, password string, nonce, body []byte) bool {
	if h.Algorithm != "" && !strings.EqualFold(h.Algorithm, HMACAlgorithmMD5) {
		return false
	}

	want := ComputeHMAC(h.Username, password, nonce, body)
	return subtle.ConstantTimeCompare([]byte(h.MAC), []byte(want)) == 1
}
