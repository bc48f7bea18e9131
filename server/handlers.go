package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/store"
)

// Limits of GET /audit.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

func (s *Server) handleListDevices(w http.ResponseWriter, r *http.Request) {
	devices, err := s.store.ListDevices(r.Context())
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list devices: %w", err))
		return
	}
	out := make([]api.Device, len(devices))
	for i, d := range devices {
		out[i] = toAPIDevice(d)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetDevice(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, err := s.store.GetDevice(r.Context(), id)
	if err != nil {
		s.writeError(w, r, deviceError(id, err))
		return
	}
	writeJSON(w, http.StatusOK, toAPIDevice(d))
}

func (s *Server) handleListCommands(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.store.GetDevice(r.Context(), id); err != nil {
		s.writeError(w, r, deviceError(id, err))
		return
	}
	cmds, err := s.store.ListCommands(r.Context(), id, 0)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list commands of %s: %w", id, err))
		return
	}
	out := make([]api.Command, len(cmds))
	for i, c := range cmds {
		out[i] = toAPICommand(c)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleListVMs(w http.ResponseWriter, r *http.Request) {
	device := r.URL.Query().Get("device")
	if device != "" {
		if _, err := s.store.GetDevice(r.Context(), device); err != nil {
			s.writeError(w, r, deviceError(device, err))
			return
		}
	}
	vms, err := s.store.ListVMs(r.Context(), device)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list VMs: %w", err))
		return
	}
	out := make([]api.VM, len(vms))
	for i, v := range vms {
		out[i] = toAPIVM(v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetVM(w http.ResponseWriter, r *http.Request) {
	v, err := s.loadVM(r.Context(), s.store, r.PathValue("id"), r.PathValue("vm"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIVM(v))
}

// handleVMAction serves lock, unlock, start, stop, pause, resume and
// secret:reveal.
func (s *Server) handleVMAction(w http.ResponseWriter, r *http.Request) {
	device, vm, op := r.PathValue("id"), r.PathValue("vm"), r.PathValue("op")
	var (
		resp any
		err  error
	)
	switch op {
	case "lock":
		var req api.LockRequest
		if err = decodeBody(w, r, &req); err == nil {
			resp, err = s.Lock(r.Context(), device, vm, req)
		}
	case "secret:reveal":
		var req api.RevealRequest
		if err = decodeBody(w, r, &req); err == nil {
			resp, err = s.RevealSecret(r.Context(), device, vm, req)
		}
	case "unlock", "start", "stop", "pause", "resume":
		var req api.OperationRequest
		if err = decodeBody(w, r, &req); err != nil {
			break
		}
		if op == "unlock" {
			resp, err = s.Unlock(r.Context(), device, vm)
		} else {
			resp, err = s.Operation(r.Context(), device, vm, op)
		}
	default:
		err = notFound("unknown VM action %q; use lock, unlock, start, stop, pause, resume "+
			"or secret:reveal", op)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleGetIntent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	in, err := s.store.GetIntent(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		err = notFound("intent %q not found; intent IDs come from lock, unlock and operation "+
			"responses", id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIIntent(in))
}

func (s *Server) handleCreateEnrollToken(w http.ResponseWriter, r *http.Request) {
	var req api.EnrollTokenRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > int64(MaxEnrollTokenTTL/time.Second) {
		s.writeError(w, r, badRequest("invalid ttl_seconds %d: use 1 to %d seconds, or 0 for "+
			"the default %s (virmo enroll-token create --ttl takes a duration such as 30m)",
			req.TTLSeconds, int64(MaxEnrollTokenTTL/time.Second), DefaultEnrollTokenTTL))
		return
	}
	ttl := time.Duration(req.TTLSeconds) * time.Second
	token, expires, err := s.createEnrollToken(r.Context(), req.Note, ttl)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.EnrollTokenResponse{Token: token, ExpiresAt: expires})
}

func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	var req api.EnrollRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	// The basic Cred carries the password itself, so the DM engine accepts
	// it only over TLS. Check before Enroll uses up the token.
	if req.Auth == store.AuthBasic && r.TLS == nil {
		s.writeError(w, r, badRequest("basic credentials need HTTPS: start the server "+
			"with --tls-cert/--tls-key, or enroll with md5 or hmac"))
		return
	}
	enrollment, err := s.Enroll(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, enrollment)
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	after, err := queryInt(query.Get("after"), 0, "after", "a sequence number of 0 or more")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := queryInt(query.Get("limit"), defaultAuditLimit, "limit",
		fmt.Sprintf("a number from 1 to %d", maxAuditLimit))
	if err == nil && (limit < 1 || limit > maxAuditLimit) {
		err = badRequest("invalid limit %d: use a number from 1 to %d", limit, maxAuditLimit)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	entries, err := s.store.ListAudit(r.Context(), after, int(limit))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list audit: %w", err))
		return
	}
	out := make([]api.AuditEntry, len(entries))
	for i, e := range entries {
		out[i] = toAPIAudit(e)
	}
	writeJSON(w, http.StatusOK, out)
}

// queryInt parses a non-negative integer query parameter, or returns def
// when it is empty.
func queryInt(value string, def int64, name, want string) (int64, error) {
	if value == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("invalid %s %q: use %s", name, value, want)
	}
	return n, nil
}

// deviceNotFound returns the 404 error of an unknown device ID.
func deviceNotFound(id string) error {
	return notFound("device %q not found; list devices with `virmo device list` "+
		"(GET /api/v1/devices)", id)
}

func deviceError(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return deviceNotFound(id)
	}
	return fmt.Errorf("get device %s: %w", id, err)
}
