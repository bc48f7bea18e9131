// Package unlock is the agent's local unlock API: a Unix socket on which a
// user on the device unlocks a locked VM with the secret the operator gave
// them, or reads its lock status. Each connection carries one JSON request
// line and gets one JSON response line. The API never returns AuthData or
// AuthDigest, and the secret never reaches a log.
package unlock

import (
	"fmt"
)

// Operations of a request.
const (
	OpUnlock = "unlock"
	OpStatus = "status"
)

// Codes of a refused request. The first five are the refusals of an unlock
// request; the others are protocol errors of the socket itself.
const (
	CodeWrongSecret       = "wrong_secret"
	CodeNotAllowed        = "not_allowed"
	CodeAttemptsExhausted = "attempts_exhausted"
	CodeNotLocked         = "not_locked"
	CodeNoSuchVM          = "no_such_vm"

	// CodeBadRequest is returned for a request that is not one JSON object
	// on one line of at most MaxRequestSize bytes, or lacks a field.
	CodeBadRequest = "bad_request"
	// CodeUnknownOp is returned for an op other than unlock and status.
	CodeUnknownOp = "unknown_op"
	// CodeInternal is returned when the agent failed to process the
	// request; the agent's log has the cause.
	CodeInternal = "internal"
	// CodeBusy is returned, without reading the request, when the agent
	// already serves its maximum number of connections. The request was
	// not carried out, so the client may send it again; Unlock and
	// GetStatus do so until their deadline.
	CodeBusy = "busy"
)

// MaxRequestSize is the maximum length in bytes of a request line,
// newline included. A secret is typed by a person, so this is far above
// any real request.
const MaxRequestSize = 4096

// maxResponseSize bounds the response line a client reads.
const maxResponseSize = 4096

// Request is one request line.
type Request struct {
	Op string `json:"op"`
	VM string `json:"vm"`
	// Secret is the exact bytes the user typed, base64 on the wire.
	Secret []byte `json:"secret,omitempty"`
}

// Response is one response line. Locked and UserUnlock are set only in the
// response to a status request; AttemptsLeft in every refusal that counts
// attempts and in the status response.
type Response struct {
	OK           bool   `json:"ok"`
	Code         string `json:"code,omitempty"`
	Error        string `json:"error,omitempty"`
	Locked       *bool  `json:"locked,omitempty"`
	UserUnlock   *bool  `json:"user_unlock,omitempty"`
	AttemptsLeft *int   `json:"attempts_left,omitempty"`
}

// Status is the lock status of one VM as the unlock API reports it.
type Status struct {
	Locked bool
	// UserUnlock is true when the user may unlock the VM with a secret.
	UserUnlock bool
	// AttemptsLeft is the number of wrong secrets the VM still accepts
	// before user unlock is refused until the server re-provisions it.
	AttemptsLeft int
}

// Error is a refused request: Code is one of the Code constants, Message a
// sentence for the user, AttemptsLeft the attempts that remain (meaningful
// for wrong_secret and attempts_exhausted).
type Error struct {
	Code         string
	Message      string
	AttemptsLeft int
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "unlock: " + e.Code
	}
	return fmt.Sprintf("unlock: %s: %s", e.Code, e.Message)
}
