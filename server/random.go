package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// secretAlphabet has 32 symbols: the digits 2 to 9 and the upper-case
// letters without I and O, so no two symbols look alike (0/O, 1/I).
const secretAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// secretSymbols is the number of symbols of a generated secret: 60 bits.
const secretSymbols = 12

// randomBytes returns n bytes from crypto/rand.
func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("read random bytes: %w", err)
	}
	return b, nil
}

// randomID returns prefix followed by n random bytes in hex.
func randomID(prefix string, n int) (string, error) {
	b, err := randomBytes(n)
	if err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(b), nil
}

// generateSecret returns 12 random symbols of secretAlphabet in three
// groups of four, XXXX-XXXX-XXXX. The dashes are part of the secret the
// user types.
func generateSecret() (string, error) {
	b, err := randomBytes(secretSymbols)
	if err != nil {
		return "", err
	}

	var out strings.Builder
	for i, v := range b {
		if i > 0 && i%4 == 0 {
			out.WriteByte('-')
		}
		// 256 is a multiple of 32, so v%32 is uniform.
		out.WriteByte(secretAlphabet[int(v)%len(secretAlphabet)])
	}
	return out.String(), nil
}
