package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/virmo/virmo/server/notify"
)

// maxBodyBytes caps the size of a REST request body.
const maxBodyBytes = 64 << 10

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/dm", s.dm)
	mux.Handle(notify.Path, s.notifier)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})

	mux.HandleFunc("POST /api/v1/enroll", s.handleEnroll)

	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/devices", s.handleListDevices)
	api.HandleFunc("GET /api/v1/devices/{id}", s.handleGetDevice)
	api.HandleFunc("GET /api/v1/devices/{id}/commands", s.handleListCommands)
	api.HandleFunc("GET /api/v1/vms", s.handleListVMs)
	api.HandleFunc("GET /api/v1/devices/{id}/vms/{vm}", s.handleGetVM)
	api.HandleFunc("POST /api/v1/devices/{id}/vms/{vm}/{op}", s.handleVMAction)
	api.HandleFunc("GET /api/v1/intents/{id}", s.handleGetIntent)
	api.HandleFunc("POST /api/v1/enrollment-tokens", s.handleCreateEnrollToken)
	api.HandleFunc("GET /api/v1/audit", s.handleAudit)
	api.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, notFound("no API endpoint %s %s; see docs/api.md", r.Method, r.URL.Path))
	})
	mux.Handle("/api/v1/", s.requireAdmin(api))
	return mux
}

// requireAdmin rejects a request without the admin bearer token.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authenticate(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// decodeBody decodes a JSON body of at most maxBodyBytes into v, rejecting
// unknown fields and trailing data. An empty body decodes as {}.
// A Content-Type other than application/json gets 415, and a body over the
// limit gets 413.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	data, err := io.ReadAll(body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf(
				"request body is larger than the limit of %d bytes; send only the fields "+
					"of docs/api.md", maxBodyBytes)}
		}
		return badRequest("read request body: %v", err)
	}
	if !utf8.Valid(data) {
		return badRequest("request body is not valid UTF-8 at byte %d; JSON text, the secret "+
			"included, must be UTF-8", invalidUTF8Offset(data))
	}
	if strings.TrimSpace(string(data)) == "" {
		data = []byte("{}")
	}

	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON body: %s; send an object with the fields of docs/api.md",
			describeJSONError(err))
	}
	if dec.More() {
		return badRequest("invalid JSON body: data after the first JSON value; send one object")
	}
	return nil
}

// checkJSONContentType rejects a request Content-Type other than
// application/json. A missing header is accepted, so plain clients work.
func checkJSONContentType(contentType string) error {
	if contentType == "" {
		return nil
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err == nil && mediaType == "application/json" {
		return nil
	}
	return &Error{Status: http.StatusUnsupportedMediaType, Message: fmt.Sprintf(
		"unsupported Content-Type %q: send the body as JSON with "+
			"Content-Type: application/json", truncateValue(contentType))}
}

// truncateValue cuts a client-supplied value to 64 bytes for a message.
func truncateValue(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// invalidUTF8Offset returns the offset of the first byte of data that is
// not part of a valid UTF-8 sequence.
func invalidUTF8Offset(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes err as {"error": ...} and logs it once. A 500 hides
// the internal error from the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	message := err.Error()
	if status == http.StatusInternalServerError {
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		message = "internal server error; see the server log"
	} else {
		s.logger.Info("request rejected", "method", r.Method, "path", r.URL.Path,
			"status", status, "err", message)
	}
	writeJSON(w, status, map[string]string{"error": message})
}
