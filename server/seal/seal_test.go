package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newSealer(t testing.TB, fill byte) *Sealer {
	t.Helper()
	s, err := New(bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		t.Fatalf("new sealer: %v", err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := newSealer(t, 1)
	for _, plain := range [][]byte{nil, {}, []byte("1234"), bytes.Repeat([]byte{0xff}, 4096)} {
		sealed, err := s.Seal(plain)
		if err != nil {
			t.Fatalf("seal: %v", err)
		}
		got, err := s.Open(sealed)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Errorf("open = %x, want %x", got, plain)
		}
		if len(plain) >= 4 && bytes.Contains(sealed, plain) {
			t.Errorf("sealed value contains the plaintext")
		}
	}
}

func TestSealUsesFreshNonce(t *testing.T) {
	s := newSealer(t, 1)
	a, _ := s.Seal([]byte("secret"))
	b, _ := s.Seal([]byte("secret"))
	if bytes.Equal(a, b) {
		t.Error("two seals of one value are equal")
	}
}

func TestOpenRejectsBadInput(t *testing.T) {
	s := newSealer(t, 1)
	good, _ := s.Seal([]byte("secret"))
	flipped := append([]byte{}, good...)
	flipped[len(flipped)-1] ^= 1
	otherKey, _ := newSealer(t, 2).Seal([]byte("secret"))
	badVersion := append([]byte{}, good...)
	badVersion[0] = 9

	tests := []struct {
		name   string
		sealed []byte
	}{
		{"empty", nil},
		{"short", good[:10]},
		{"tampered", flipped},
		{"other key", otherKey},
		{"bad version", badVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Open(tt.sealed); !errors.Is(err, ErrOpen) {
				t.Errorf("open error = %v, want ErrOpen", err)
			}
		})
	}
}

func TestNewRejectsKeySize(t *testing.T) {
	if _, err := New(make([]byte, 16)); err == nil {
		t.Error("New accepted a 16-byte key")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	first, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	second, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !bytes.Equal(first, second) || len(first) != KeySize {
		t.Error("loaded key differs from the created one")
	}
	info, _ := os.Stat(path)
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode = %04o, want 0600", perm)
	}
}

func TestLoadKeyRejections(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		mode os.FileMode
		want string
	}{
		{"world readable", make([]byte, KeySize), 0o644, "chmod 600"},
		{"group readable", make([]byte, KeySize), 0o640, "chmod 600"},
		{"short", make([]byte, 31), 0o600, "31 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secret.key")
			if err := os.WriteFile(path, tt.data, tt.mode); err != nil {
				t.Fatalf("write: %v", err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatalf("chmod: %v", err)
			}
			_, err := LoadOrCreateKey(path)
			if err == nil {
				t.Fatal("key file accepted")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error = %q, want %q and the path", err, tt.want)
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	s := newSealer(f, 1)
	good, _ := s.Seal([]byte("secret"))
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, sealed []byte) {
		plain, err := s.Open(sealed)
		if err == nil && !bytes.Equal(sealed, good) && plain == nil {
			t.Error("open succeeded without plaintext")
		}
	})
}
