package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/virmo/virmo/store"
)

// settingAdminTokenHash is the settings key of the hex SHA-256 of the
// admin token. The token itself is stored only in DataDir/admin.token.
const settingAdminTokenHash = "admin_token_sha256"

// actorAdmin is the audit actor of calls made with the admin token.
const actorAdmin = "admin"

// EnsureAdminToken returns the admin bearer token of the REST API. The
// first call creates a random token, stores its SHA-256 in the settings
// and writes the token to DataDir/admin.token with mode 0600; later calls
// read the file. When the file is missing but a hash is stored (the file
// was deleted), it creates a new token, which replaces the old one. It
// fails when the file does not match the stored hash.
func (s *Server) EnsureAdminToken(ctx context.Context) (string, error) {
	path := filepath.Join(s.dataDir, "admin.token")
	stored, err := s.store.GetSetting(ctx, settingAdminTokenHash)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("read admin token hash: %w", err)
	}

	data, err := os.ReadFile(path)
	switch {
	case err == nil && len(stored) > 0:
		token := strings.TrimSpace(string(data))
		if subtle.ConstantTimeCompare([]byte(hashToken(token)), stored) != 1 {
			return "", fmt.Errorf("admin token file %s does not match the token this server's "+
				"database stores; delete the file to create a new token", path)
		}
		return token, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read admin token: %w", err)
	case len(stored) > 0:
		s.logger.Warn("admin token file missing; creating a new admin token", "path", path)
	}

	token, err := randomID("", 32)
	if err != nil {
		return "", fmt.Errorf("create admin token: %w", err)
	}
	if err := writeFileAtomic(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	if err := s.store.PutSetting(ctx, settingAdminTokenHash, []byte(hashToken(token))); err != nil {
		return "", fmt.Errorf("store admin token hash: %w", err)
	}
	if err := s.audit(ctx, s.store, "server", "admin_token.create", "", ""); err != nil {
		return "", err
	}
	s.logger.Info("admin token created", "path", path)
	return token, nil
}

// hashToken returns the hex SHA-256 of a bearer or enrollment token.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// authenticate checks the request's bearer token against the stored hash
// in constant time.
func (s *Server) authenticate(r *http.Request) error {
	token, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		return unauthorized("missing bearer token; send the header " +
			"\"Authorization: Bearer <token>\" with the token from the server's admin.token file")
	}

	stored, err := s.store.GetSetting(r.Context(), settingAdminTokenHash)
	if errors.Is(err, store.ErrNotFound) {
		return unauthorized("the server has no admin token yet; start it with `virmo server` " +
			"to create DATA/admin.token")
	}
	if err != nil {
		return fmt.Errorf("read admin token hash: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(hashToken(token)), stored) != 1 {
		return unauthorized("invalid bearer token; use the token from the server's admin.token file")
	}
	return nil
}

// bearerToken returns the token of an Authorization header that uses the
// Bearer scheme. The scheme name is case-insensitive (RFC 7235 section 2.1).
func bearerToken(header string) (string, bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// writeFileAtomic writes data to a temporary file with mode perm and
// renames it over path, so a reader never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)

	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
