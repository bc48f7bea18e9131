// Package seal encrypts the server's secrets at rest (device passwords and
// user-unlock secrets) with AES-256-GCM and a key kept in a file.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// KeySize is the size of the key in bytes (AES-256).
const KeySize = 32

// version is the first byte of every sealed value, so a later key or
// algorithm change can tell old values apart.
const version byte = 1

// ErrOpen is returned when a sealed value is malformed or was sealed with
// another key.
var ErrOpen = errors.New("seal: cannot open sealed value (malformed, or sealed with another key)")

// Sealer seals and opens values with one AES-256-GCM key. Each Seal uses a
// fresh random nonce. A Sealer is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext. The result is a version byte, the nonce and the
// ciphertext with its tag.
func (s *Sealer) Seal(plaintext []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: read random nonce: %w", err)
	}
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+s.aead.Overhead())
	out = append(out, version)
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, plaintext, []byte{version}), nil
}

// Open decrypts a value made by Seal with the same key, or returns ErrOpen.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	size := s.aead.NonceSize()
	if len(sealed) < 1+size+s.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	nonce := sealed[1 : 1+size]
	plaintext, err := s.aead.Open(nil, nonce, sealed[1+size:], []byte{version})
	if err != nil {
		return nil, ErrOpen
	}
	return plaintext, nil
}

// LoadOrCreateKey reads the key file at path, or creates it with a random
// key and mode 0600 when it does not exist. It rejects a key file that
// other users can read or write, and one of the wrong size.
func LoadOrCreateKey(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}

	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has mode %04o, so other users can read it; "+
			"run chmod 600 %s and check who copied it", path, perm, path)
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("key file %s is %d bytes, want %d; restore it from a backup "+
			"(a new key cannot open the secrets already stored)", path, len(key), KeySize)
	}
	return key, nil
}

func createKey(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("create key file %s: read random key: %w", path, err)
	}

	// O_EXCL: two servers starting at once must not write different keys.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("write key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("sync key file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("close key file %s: %w", path, err)
	}
	return key, nil
}
