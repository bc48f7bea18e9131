package dmauth

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The vectors are the worked examples of the OMA DM 1.2 security
// specification: user Bruce2, password OhBehave, nonce "Nonce".
const (
	specUser     = "Bruce2"
	specPassword = "OhBehave"
	specMD5      = "Zz6EivR3yeaaENcRN6lpAQ=="
	specBasic    = "QnJ1Y2UyOk9oQmVoYXZl"
)

func TestMD5DigestSpecVector(t *testing.T) {
	if got := MD5Digest(specUser, specPassword, []byte("Nonce")); got != specMD5 {
		t.Errorf("MD5Digest = %s, want %s", got, specMD5)
	}
}

func TestVerifyMD5(t *testing.T) {
	nonce := []byte("Nonce")
	tests := []struct {
		name     string
		cred     string
		user     string
		password string
		nonce    []byte
		want     bool
	}{
		{"spec vector", specMD5, specUser, specPassword, nonce, true},
		{"wrong password", specMD5, specUser, "ohbehave", nonce, false},
		{"wrong user", specMD5, "bruce2", specPassword, nonce, false},
		{"wrong nonce", specMD5, specUser, specPassword, []byte("nonce"), false},
		{"empty nonce", specMD5, specUser, specPassword, nil, false},
		{"trailing space", specMD5 + " ", specUser, specPassword, nonce, false},
		{"missing padding", strings.TrimRight(specMD5, "="), specUser, specPassword, nonce, false},
		{"prefix", specMD5[:10], specUser, specPassword, nonce, false},
		{"empty credential", "", specUser, specPassword, nonce, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyMD5(tt.cred, tt.user, tt.password, tt.nonce); got != tt.want {
				t.Errorf("VerifyMD5 = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewNonceFreshBytes(t *testing.T) {
	a, b := NewNonce(), NewNonce()
	if len(a) != NonceSize {
		t.Errorf("len = %d, want %d", len(a), NonceSize)
	}
	if bytes.Equal(a, b) {
		t.Error("two nonces are equal")
	}
}

func TestBasicCredentialSpecVector(t *testing.T) {
	if got := BasicCredential(specUser, specPassword); got != specBasic {
		t.Errorf("BasicCredential = %s, want %s", got, specBasic)
	}
}

func TestParseBasic(t *testing.T) {
	tests := []struct {
		name     string
		cred     string
		user     string
		password string
	}{
		{"spec vector", specBasic, specUser, specPassword},
		{"surrounding whitespace", "\n  " + specBasic + " \t", specUser, specPassword},
		{"colon in password", BasicCredential("u", "a:b:c"), "u", "a:b:c"},
		{"empty password", BasicCredential("u", ""), "u", ""},
		{"empty user", BasicCredential("", "p"), "", "p"},
		{"only a colon", BasicCredential("", ""), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, password, err := ParseBasic(tt.cred)
			if err != nil {
				t.Fatalf("ParseBasic: %v", err)
			}
			if user != tt.user {
				t.Errorf("user = %q, want %q", user, tt.user)
			}
			if password != tt.password {
				t.Errorf("password = %q, want %q", password, tt.password)
			}
		})
	}
}

func TestParseBasicBadInput(t *testing.T) {
	tests := []struct {
		name string
		cred string
		want string
	}{
		{"empty", "", "no colon"},
		{"not base64", "secret!password", "not base64"},
		{"decodes without colon", "dXNlcg==", "no colon"},
		{"unpadded", "dTpwdw", "not base64"},
		{"URL alphabet", "Pz8_Pz8-", "not base64"},
		{"no colon", BasicCredential("userpassword", "")[:8], "no colon"},
		{"inner space", "QnJ1 Y2UyOk9oQmVoYXZl", "not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseBasic(tt.cred)
			if err == nil {
				t.Fatal("ParseBasic accepted the credential")
			}
			if !errors.Is(err, ErrInvalidCredential) {
				t.Errorf("error %q does not wrap ErrInvalidCredential", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if tt.cred != "" && strings.Contains(err.Error(), tt.cred) {
				t.Errorf("error %q contains the credential", err)
			}
		})
	}
}

// FuzzParseBasic checks that ParseBasic never panics, never puts its input
// into an error, and that what it parses encodes back to the same pair.
func FuzzParseBasic(f *testing.F) {
	f.Add(specBasic)
	f.Add("")
	f.Add("dTpw")
	f.Add(BasicCredential("u", "a:b"))
	f.Add("!!!")

	f.Fuzz(func(t *testing.T, cred string) {
		user, password, err := ParseBasic(cred)
		if err != nil {
			// Short inputs may match words of the message itself by chance.
			if len(cred) >= 16 && strings.Contains(err.Error(), cred) {
				t.Fatalf("error %q contains the credential", err)
			}
			return
		}
		if strings.Contains(user, ":") {
			t.Fatalf("user %q contains a colon", user)
		}
		u2, p2, err := ParseBasic(BasicCredential(user, password))
		if err != nil || u2 != user || p2 != password {
			t.Fatalf("re-parse = %q, %q, %v; want %q, %q", u2, p2, err, user, password)
		}
	})
}
