package notification

import "testing"

func TestVerify(t *testing.T) {
	example := exampleMessage()
	flipped := append([]byte(nil), example...)
	flipped[len(flipped)-1] ^= 0x01
	badDigest := append([]byte(nil), example...)
	badDigest[0] ^= 0x80

	tests := []struct {
		name     string
		b        []byte
		password string
		nonce    []byte
		want     bool
	}{
		{"example", example, examplePassword, FallbackNonce(), true},
		{"wrong password", example, "serverPass", FallbackNonce(), false},
		{"wrong nonce", example, examplePassword, []byte{0, 0, 0, 1}, false},
		{"literal zero string nonce", example, examplePassword, []byte("0x00000000"), false},
		{"empty nonce", example, examplePassword, nil, false},
		{"changed server id", flipped, examplePassword, FallbackNonce(), false},
		{"changed digest", badDigest, examplePassword, FallbackNonce(), false},
		{"vendor bytes appended", append(example, 0), examplePassword, FallbackNonce(), false},
		{"truncated", example[:MinSize], examplePassword, FallbackNonce(), false},
		{"nil", nil, examplePassword, FallbackNonce(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.b, tt.password, tt.nonce); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVerifyWithFallback(t *testing.T) {
	stored := []byte("stored-nonce")
	withStored, err := Encode(exampleTrigger, exampleServerID, examplePassword, stored)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	withFallback := exampleMessage()
	withLiteral, err := Encode(exampleTrigger, exampleServerID, examplePassword,
		[]byte("0x00000000"))
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}

	tests := []struct {
		name         string
		b            []byte
		password     string
		nonce        []byte
		wantFallback bool
		wantOK       bool
	}{
		{"stored nonce", withStored, examplePassword, stored, false, true},
		{"fallback nonce", withFallback, examplePassword, stored, true, true},
		{"fallback is stored nonce", withFallback, examplePassword, FallbackNonce(), false, true},
		{"literal zero string", withLiteral, examplePassword, stored, false, false},
		{"wrong password", withStored, "wrong", stored, false, false},
		{"wrong password fallback", withFallback, "wrong", stored, false, false},
		{"malformed", withStored[:MinSize], examplePassword, stored, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usedFallback, ok := VerifyWithFallback(tt.b, tt.password, tt.nonce)
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v", ok, tt.wantOK)
			}
			if usedFallback != tt.wantFallback {
				t.Errorf("usedFallback = %v, want %v", usedFallback, tt.wantFallback)
			}
		})
	}
}

func TestFallbackNonceIsFresh(t *testing.T) {
	a := FallbackNonce()
	a[0] = 1
	if b := FallbackNonce(); b[0] != 0 {
		t.Errorf("FallbackNonce()[0] = %d after changing an earlier result, want 0", b[0])
	}
}
