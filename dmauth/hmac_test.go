package dmauth

import (
	"crypto/md5"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// The syncml:auth-MAC vectors were computed with Python's hashlib from
// B64(MD5(B64(MD5(user ":" password)) ":" nonce ":" B64(MD5(body)))).
// The first reuses the spec's Bruce2/OhBehave credentials, whose inner
// B64(MD5("Bruce2:OhBehave")) is PtEdr8lBQ45IbT1bZIkrOQ==.
var hmacVectors = []struct {
	name     string
	user     string
	password string
	nonce    []byte
	body     []byte
	want     string
}{
	{"spec credentials", specUser, specPassword, []byte("Nonce"), []byte("<SyncML/>"),
		"urdCeS3JUmjFgi8SX3webw=="},
	{"binary nonce, empty body", "dm-client", "s3cret",
		[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, nil,
		"n5pDukJ+JSX76jUZD80gxg=="},
}

func TestComputeHMACVectors(t *testing.T) {
	for _, tt := range hmacVectors {
		t.Run(tt.name, func(t *testing.T) {
			if got := ComputeHMAC(tt.user, tt.password, tt.nonce, tt.body); got != tt.want {
				t.Errorf("ComputeHMAC = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestComputeHMACInnerStep(t *testing.T) {
	inner := md5.Sum([]byte(specUser + ":" + specPassword))
	if got := base64.StdEncoding.EncodeToString(inner[:]); got != "PtEdr8lBQ45IbT1bZIkrOQ==" {
		t.Errorf("inner = %s, want PtEdr8lBQ45IbT1bZIkrOQ==", got)
	}
}

func TestVerifyHMAC(t *testing.T) {
	nonce := []byte("Nonce")
	body := []byte("<SyncML/>")
	mac := hmacVectors[0].want
	header := func(algorithm, user, mac string) HMACHeader {
		return HMACHeader{Algorithm: algorithm, Username: user, MAC: mac}
	}
	tests := []struct {
		name     string
		header   HMACHeader
		password string
		nonce    []byte
		body     []byte
		want     bool
	}{
		{"vector", header("MD5", specUser, mac), specPassword, nonce, body, true},
		{"empty algorithm", header("", specUser, mac), specPassword, nonce, body, true},
		{"lower-case algorithm", header("md5", specUser, mac), specPassword, nonce, body, true},
		{"other algorithm", header("SHA256", specUser, mac), specPassword, nonce, body, false},
		{"wrong password", header("MD5", specUser, mac), "ohbehave", nonce, body, false},
		{"wrong user", header("MD5", "bruce2", mac), specPassword, nonce, body, false},
		{"wrong nonce", header("MD5", specUser, mac), specPassword, []byte("nonce"), body, false},
		{"changed body", header("MD5", specUser, mac), specPassword, nonce, []byte("<SyncML />"), false},
		{"trailing space", header("MD5", specUser, mac+" "), specPassword, nonce, body, false},
		{"missing padding", header("MD5", specUser, strings.TrimRight(mac, "=")),
			specPassword, nonce, body, false},
		{"empty mac", header("MD5", specUser, ""), specPassword, nonce, body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyHMAC(tt.header, tt.password, tt.nonce, tt.body); got != tt.want {
				t.Errorf("VerifyHMAC = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseHMACHeader(t *testing.T) {
	mac := hmacVectors[0].want
	tests := []struct {
		name  string
		value string
		want  HMACHeader
	}{
		{"spec form", `algorithm=MD5, username="Bruce2", mac=` + mac,
			HMACHeader{"MD5", "Bruce2", mac}},
		{"no algorithm", `username="Bruce2", mac=` + mac, HMACHeader{"MD5", "Bruce2", mac}},
		{"lower-case algorithm", `algorithm=md5,username=Bruce2,mac=` + mac,
			HMACHeader{"MD5", "Bruce2", mac}},
		{"quoted mac", `username="Bruce2", mac="` + mac + `"`, HMACHeader{"MD5", "Bruce2", mac}},
		{"upper-case names", `Algorithm=MD5, UserName="Bruce2", MAC=` + mac,
			HMACHeader{"MD5", "Bruce2", mac}},
		{"any order", `mac=` + mac + `, username="Bruce2"`, HMACHeader{"MD5", "Bruce2", mac}},
		{"spaces and tabs", " username = \"Bruce2\"\t,\tmac =" + mac + "  ",
			HMACHeader{"MD5", "Bruce2", mac}},
		{"comma in username", `username="a,b", mac=m`, HMACHeader{"MD5", "a,b", "m"}},
		{"escaped quote", `username="say \"hi\"", mac=m`, HMACHeader{"MD5", `say "hi"`, "m"}},
		{"escaped backslash", `username="a\\b", mac=m`, HMACHeader{"MD5", `a\b`, "m"}},
		{"unknown parameter ignored", `realm="x", username=u, mac=m`, HMACHeader{"MD5", "u", "m"}},
		{"empty unknown parameter", `realm="", username=u, mac=m`, HMACHeader{"MD5", "u", "m"}},
		{"UTF-8 username", `username="Jürgen", mac=m`, HMACHeader{"MD5", "Jürgen", "m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHMACHeader(tt.value)
			if err != nil {
				t.Fatalf("ParseHMACHeader: %v", err)
			}
			if got != tt.want {
				t.Errorf("ParseHMACHeader = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseHMACHeaderBadInput(t *testing.T) {
	const mac = "c2VjcmV0LW1hYy12YWx1ZQ=="
	tests := []struct {
		name    string
		value   string
		wantErr string // a fragment of the error message
	}{
		{"empty", "", "empty value"},
		{"only spaces", "   ", "empty value"},
		{"missing mac", `algorithm=MD5, username="Bruce2"`, "missing mac"},
		{"empty mac", `username="Bruce2", mac=""`, "missing mac"},
		{"missing username", `algorithm=MD5, mac=` + mac, "missing username"},
		{"empty username", `username="", mac=` + mac, "missing username"},
		{"unterminated quote", `username="Bruce2, mac=` + mac, "unterminated quoted value"},
		{"unterminated mac quote", `username=u, mac="` + mac, "unterminated quoted value"},
		{"trailing backslash", `username="Bruce2\`, "unterminated quoted value"},
		{"bad algorithm", `algorithm=SHA1, username=u, mac=` + mac, `unsupported algorithm "SHA1"`},
		{"empty algorithm", `algorithm="", username=u, mac=` + mac, `unsupported algorithm ""`},
		{"garbage", "%%%", "missing '='"},
		{"no name", "=x, username=u, mac=" + mac, "missing parameter name"},
		{"no value", "username=, mac=" + mac, "missing or invalid value"},
		{"no equals", "username u, mac=" + mac, "missing '='"},
		{"space inside value", "username=u v, mac=" + mac, "missing ','"},
		{"trailing comma", "username=u, mac=" + mac + ",", "missing parameter name"},
		{"empty element", "username=u,, mac=" + mac, "missing parameter name"},
		{"semicolon separator", "username=u; mac=" + mac, "missing ','"},
		{"duplicate mac", "username=u, mac=" + mac + ", mac=" + mac, `duplicate parameter "mac"`},
		{"duplicate username", "username=u, username=v, mac=" + mac, `duplicate parameter "username"`},
		{"duplicate in other case", "username=u, mac=" + mac + ", MAC=x", `duplicate parameter "mac"`},
		{"duplicate algorithm", "algorithm=MD5, algorithm=MD5, username=u, mac=" + mac,
			`duplicate parameter "algorithm"`},
		{"newline in quoted value", "username=\"u\nv\", mac=" + mac, "control character"},
		{"newline after value", "username=u\r\n, mac=" + mac, "missing ','"},
		{"header over 1 KiB", `username="` + strings.Repeat("u", MaxHMACHeaderLen) + `", mac=` + mac,
			"exceeds the maximum of 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHMACHeader(tt.value)
			if !errors.Is(err, ErrInvalidHMACHeader) {
				t.Fatalf("ParseHMACHeader error = %v, want ErrInvalidHMACHeader", err)
			}
			if got != (HMACHeader{}) {
				t.Errorf("ParseHMACHeader returned %+v with the error", got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), mac) {
				t.Errorf("error %q contains the mac value", err)
			}
		})
	}
}

func TestParseHMACHeaderAtMaximumLength(t *testing.T) {
	prefix := `username=u, mac=`
	value := prefix + strings.Repeat("m", MaxHMACHeaderLen-len(prefix))
	if _, err := ParseHMACHeader(value); err != nil {
		t.Errorf("ParseHMACHeader of %d bytes: %v", len(value), err)
	}
}

func TestFormatHMACHeader(t *testing.T) {
	tests := []struct {
		name   string
		header HMACHeader
		want   string
	}{
		{"spec form", HMACHeader{"MD5", "Bruce2", "urdCeS3JUmjFgi8SX3webw=="},
			`algorithm=MD5, username="Bruce2", mac=urdCeS3JUmjFgi8SX3webw==`},
		{"empty algorithm", HMACHeader{"", "u", "m"}, `algorithm=MD5, username="u", mac=m`},
		{"quote in username", HMACHeader{"MD5", `a"b\c`, "m"},
			`algorithm=MD5, username="a\"b\\c", mac=m`},
		{"comma in mac", HMACHeader{"MD5", "u", "a,b"}, `algorithm=MD5, username="u", mac="a,b"`},
		{"space in mac", HMACHeader{"MD5", "u", "a b"}, `algorithm=MD5, username="u", mac="a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatHMACHeader(tt.header); got != tt.want {
				t.Errorf("FormatHMACHeader = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestHMACHeaderRoundTrip(t *testing.T) {
	for _, tt := range hmacVectors {
		t.Run(tt.name, func(t *testing.T) {
			sent := HMACHeader{
				Algorithm: HMACAlgorithmMD5,
				Username:  tt.user,
				MAC:       ComputeHMAC(tt.user, tt.password, tt.nonce, tt.body),
			}
			got, err := ParseHMACHeader(FormatHMACHeader(sent))
			if err != nil {
				t.Fatalf("ParseHMACHeader: %v", err)
			}
			if got != sent {
				t.Errorf("round trip = %+v, want %+v", got, sent)
			}
			if !VerifyHMAC(got, tt.password, tt.nonce, tt.body) {
				t.Error("VerifyHMAC of the parsed header = false, want true")
			}
		})
	}
}

func FuzzParseHMACHeader(f *testing.F) {
	f.Add(`algorithm=MD5, username="Bruce2", mac=urdCeS3JUmjFgi8SX3webw==`)
	f.Add(`username="a,\"b\"", mac="x y"`)
	f.Add(`mac=m, username=u, realm=""`)
	f.Add(`username="\`)
	f.Fuzz(func(t *testing.T, value string) {
		h, err := ParseHMACHeader(value)
		if err != nil {
			return
		}

		formatted := FormatHMACHeader(h)
		got, err := ParseHMACHeader(formatted)
		if err != nil {
			// Quoting may push a header near the limit past it.
			if len(formatted) > MaxHMACHeaderLen {
				return
			}
			t.Fatalf("ParseHMACHeader(%q) of formatted %+v: %v", formatted, h, err)
		}
		if got != h {
			t.Errorf("round trip = %+v, want %+v", got, h)
		}
	})
}
