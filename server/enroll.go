package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/store"
)

// Limits of enrollment requests.
const (
	DefaultEnrollTokenTTL = 24 * time.Hour
	MaxEnrollTokenTTL     = 30 * 24 * time.Hour
	maxNoteBytes          = 200
	maxDevIDBytes         = 256
	maxNameBytes          = 128
)

// CreateEnrollToken creates a one-time enrollment token valid for ttl
// (DefaultEnrollTokenTTL when zero, else whole seconds from 1 s to
// MaxEnrollTokenTTL) and returns it. Only its SHA-256 is stored.
func (s *Server) CreateEnrollToken(ctx context.Context, note string, ttl time.Duration) (string, error) {
	token, _, err := s.createEnrollToken(ctx, note, ttl)
	return token, err
}

func (s *Server) createEnrollToken(ctx context.Context, note string, ttl time.Duration) (string, time.Time, error) {
	if ttl == 0 {
		ttl = DefaultEnrollTokenTTL
	}
	if ttl < time.Second || ttl > MaxEnrollTokenTTL || ttl%time.Second != 0 {
		return "", time.Time{}, badRequest("invalid token lifetime %s: use whole seconds from "+
			"1s to %s (virmo enroll-token create --ttl; ttl_seconds 1 to %d in POST "+
			"/api/v1/enrollment-tokens), or 0 for the default %s", ttl, MaxEnrollTokenTTL,
			int64(MaxEnrollTokenTTL/time.Second), DefaultEnrollTokenTTL)
	}
	if len(note) > maxNoteBytes {
		return "", time.Time{}, badRequest("note is %d bytes long; shorten it to at most %d bytes",
			len(note), maxNoteBytes)
	}

	token, err := randomID("", 24)
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.nowUTC()
	expires := now.Add(ttl)
	err = s.store.InTx(ctx, func(q store.Queries) error {
		err := q.CreateEnrollToken(ctx, store.EnrollToken{
			Hash:      hashToken(token),
			Note:      note,
			CreatedAt: now,
			ExpiresAt: expires,
		})
		if err != nil {
			return fmt.Errorf("store enrollment token: %w", err)
		}
		detail := fmt.Sprintf("note=%q expires_at=%s", note, expires.Format(time.RFC3339))
		return s.audit(ctx, q, actorAdmin, "enroll_token.create", "", detail)
	})
	if err != nil {
		return "", time.Time{}, err
	}
	s.logger.Info("enrollment token created", "expires_at", expires)
	return token, expires, nil
}

// Enroll exchanges a one-time enrollment token for a DM account. A new
// DevID gets a new device. A DevID already enrolled (the agent was
// reinstalled) keeps its device ID and gets new credentials, so the old
// ones stop working. The returned passwords are stored only sealed and
// cannot be read again through the API.
func (s *Server) Enroll(ctx context.Context, req api.EnrollRequest) (api.Enrollment, error) {
	if err := validateEnroll(&req); err != nil {
		return api.Enrollment{}, err
	}

	clientPassword, serverPassword, err := newPasswords()
	if err != nil {
		return api.Enrollment{}, err
	}
	clientNonce, err := randomBytes(16)
	if err != nil {
		return api.Enrollment{}, err
	}
	serverNonce, err := randomBytes(16)
	if err != nil {
		return api.Enrollment{}, err
	}
	clientSealed, err := s.sealer.Seal([]byte(clientPassword))
	if err != nil {
		return api.Enrollment{}, err
	}
	serverSealed, err := s.sealer.Seal([]byte(serverPassword))
	if err != nil {
		return api.Enrollment{}, err
	}
	newID, err := randomID("dev-", 4)
	if err != nil {
		return api.Enrollment{}, err
	}

	var (
		device     store.Device
		enrollment api.Enrollment
	)
	action := "device.enroll"
	err = s.store.InTx(ctx, func(q store.Queries) error {
		now := s.nowUTC()
		existing, err := q.GetDeviceByDevID(ctx, req.DevID)
		switch {
		case err == nil:
			device = existing
			action = "device.reenroll"
		case errors.Is(err, store.ErrNotFound):
			device = store.Device{ID: newID, DevID: req.DevID, CreatedAt: now}
		default:
			return fmt.Errorf("look up device %s: %w", req.DevID, err)
		}

		if err := useEnrollToken(ctx, q, req.Token, device.ID, now); err != nil {
			return err
		}

		device.Name = req.Name
		device.ServerID = s.serverID
		device.ClientUser = device.ID
		device.ClientSecretSealed = clientSealed
		device.ServerSecretSealed = serverSealed
		device.ClientNonce = clientNonce
		device.ServerNonce = serverNonce
		device.AuthType = req.Auth
		if action == "device.reenroll" {
			err = q.UpdateDevice(ctx, device)
		} else {
			err = q.CreateDevice(ctx, device)
		}
		if err != nil {
			return fmt.Errorf("store device %s: %w", device.ID, err)
		}
		detail := fmt.Sprintf("devid=%q name=%q auth=%s", req.DevID, req.Name, req.Auth)
		if err := s.audit(ctx, q, "device:"+device.ID, action, device.ID, detail); err != nil {
			return err
		}

		// The response is built and checked before the commit, so a
		// response the device could not use leaves the token unused.
		enrollment = api.Enrollment{
			DeviceID:       device.ID,
			ServerID:       s.serverID,
			ServerURL:      s.dmURL,
			ClientUser:     device.ClientUser,
			ClientPassword: clientPassword,
			ServerPassword: serverPassword,
			ClientNonce:    base64.StdEncoding.EncodeToString(clientNonce),
			ServerNonce:    base64.StdEncoding.EncodeToString(serverNonce),
			Auth:           req.Auth,
		}
		if err := checkPublicURL(enrollment.ServerURL); err != nil {
			return fmt.Errorf("build enrollment response (token left unused): server_url: %w", err)
		}
		return nil
	})
	if err != nil {
		return api.Enrollment{}, err
	}

	s.logger.Info("device enrolled", "device", device.ID, "devid", req.DevID, "action", action)
	return enrollment, nil
}

func useEnrollToken(ctx context.Context, q store.Queries, token, deviceID string, now time.Time) error {
	err := q.UseEnrollToken(ctx, hashToken(token), deviceID, now)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return unauthorized("unknown enrollment token; ask the operator for a new one " +
			"(`virmo enroll-token create`, POST /api/v1/enrollment-tokens)")
	case errors.Is(err, store.ErrTokenUsed):
		return unauthorized("enrollment token was already used or has expired; ask the " +
			"operator for a new one (`virmo enroll-token create`, POST /api/v1/enrollment-tokens)")
	default:
		return fmt.Errorf("use enrollment token: %w", err)
	}
}

// validateEnroll checks an enroll request and defaults Name to DevID.
func validateEnroll(req *api.EnrollRequest) error {
	req.Token = strings.TrimSpace(req.Token)
	if req.Token == "" {
		return badRequest("token is missing; send the one-time enrollment token as \"token\" " +
			"(`virmo agent enroll --token`)")
	}
	if req.DevID == "" {
		return badRequest("devid is missing; send the device's DevInfo/DevId as \"devid\" " +
			"(`virmo agent enroll --devid`, which defaults to a random urn:uuid)")
	}
	if err := checkPrintable("devid", req.DevID, maxDevIDBytes); err != nil {
		return err
	}
	switch req.Auth {
	case "":
		req.Auth = store.AuthMD5
	case store.AuthMD5, store.AuthHMAC, store.AuthBasic:
	default:
		return badRequest("invalid auth %q: use md5, hmac or basic", req.Auth)
	}
	if req.Name == "" {
		req.Name = req.DevID
	}
	return checkPrintable("name", req.Name, maxNameBytes)
}

// checkPrintable rejects a value that is too long or has control
// characters, naming the field and the limit.
func checkPrintable(field, value string, maxBytes int) error {
	if len(value) > maxBytes {
		return badRequest("%s is %d bytes long; use at most %d bytes", field, len(value), maxBytes)
	}
	for _, r := range value {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return badRequest("invalid %s %q: use printable UTF-8 without control characters",
				field, value)
		}
	}
	return nil
}

// newPasswords returns random client and server passwords of 24 bytes
// each, base64url-encoded so they are printable.
func newPasswords() (client, server string, err error) {
	c, err := randomBytes(24)
	if err != nil {
		return "", "", err
	}
	s, err := randomBytes(24)
	if err != nil {
		return "", "", err
	}
	return base64.RawURLEncoding.EncodeToString(c), base64.RawURLEncoding.EncodeToString(s), nil
}
