// Package api contains the JSON types of the VirMO REST API (base path
// /api/v1). The field names are those of docs/api.md. Times are RFC 3339
// in UTC.
package api

import "time"

// Device is one enrolled device.
type Device struct {
	ID        string    `json:"id"`
	DevID     string    `json:"devid"`
	Name      string    `json:"name"`
	ServerID  string    `json:"server_id"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	// DevInfo contains the DevInfo leaves of the device's last session.
	DevInfo map[string]string `json:"devinfo"`
}

// VM is the server's view of one VM on a device.
type VM struct {
	Device string `json:"device"`
	VM     string `json:"vm"`
	VMID   string `json:"vmid"`
	// State is stopped, running, paused, failed or unknown.
	State string `json:"state"`
	// LockState is unlocked, lock_pending, locked or unlock_pending.
	LockState      string    `json:"lock_state"`
	LockError      string    `json:"lock_error"`
	LockGeneration int64     `json:"lock_generation"`
	UserUnlock     bool      `json:"user_unlock"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Intent is an operator request on a VM.
type Intent struct {
	ID     string `json:"id"`
	Device string `json:"device"`
	VM     string `json:"vm"`
	// Kind is lock, unlock, start, stop, pause or resume.
	Kind string `json:"kind"`
	// State is pending, done, failed, superseded or cancelled.
	State     string    `json:"state"`
	Error     string    `json:"error"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Command is one entry of a device's command queue, without its payload.
type Command struct {
	Seq    int64  `json:"seq"`
	Intent string `json:"intent"`
	Kind   string `json:"kind"`
	// State is pending, sent, done, failed or cancelled.
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	// Status is the OMA DM status or result code the device returned, or
	// 0 while there is none.
	Status    int       `json:"status"`
	Error     string    `json:"error"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Enrollment is the DM account of a newly enrolled device. The enroll call
// is the only time the passwords leave the server.
type Enrollment struct {
	DeviceID string `json:"device_id"`
	ServerID string `json:"server_id"`
	// ServerURL is the server's DM URL (ending in /dm).
	ServerURL      string `json:"server_url"`
	ClientUser     string `json:"client_user"`
	ClientPassword string `json:"client_password"`
	ServerPassword string `json:"server_password"`
	// ClientNonce and ServerNonce are base64.
	ClientNonce string `json:"client_nonce"`
	ServerNonce string `json:"server_nonce"`
	// Auth is the credential type of the account: md5, hmac or basic.
	Auth string `json:"auth"`
}

// AuditEntry is one row of the append-only audit log.
type AuditEntry struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail"`
}

// LockRequest is the body of POST /devices/{id}/vms/{vm}/lock.
type LockRequest struct {
	// UserUnlock lets the user unlock the VM locally with a secret.
	UserUnlock bool `json:"user_unlock"`
	// Secret is an operator-chosen secret (4 to 128 bytes of UTF-8). Empty
	// means the server generates one. Only valid with UserUnlock.
	Secret string `json:"secret,omitempty"`
}

// LockResponse is the response to a lock request. Secret is set only when
// the request created a lock with user unlock. A repeated request for the
// same pending lock gets the intent without the secret.
type LockResponse struct {
	Intent Intent `json:"intent"`
	Secret string `json:"secret,omitempty"`
}

// IntentResponse is the response to unlock, start, stop, pause and resume.
type IntentResponse struct {
	Intent Intent `json:"intent"`
}

// OperationRequest is the (empty) body of unlock, start, stop, pause and
// resume.
type OperationRequest struct{}

// EnrollRequest is the body of POST /enroll.
type EnrollRequest struct {
	Token string `json:"token"`
	// DevID is the device's DevInfo/DevId.
	DevID string `json:"devid"`
	Name  string `json:"name"`
	// Auth is the credential type of the DM account: "md5" (the default
	// when empty), "hmac" (syncml:auth-MAC) or "basic" (syncml:auth-basic,
	// accepted only over TLS).
	Auth string `json:"auth,omitempty"`
}

// EnrollTokenRequest is the body of POST /enrollment-tokens.
type EnrollTokenRequest struct {
	Note       string `json:"note"`
	TTLSeconds int64  `json:"ttl_seconds"`
}

// EnrollTokenResponse carries a new one-time enrollment token.
type EnrollTokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// RevealRequest is the body of POST .../secret:reveal.
type RevealRequest struct {
	// Reason is recorded in the audit log.
	Reason string `json:"reason"`
}

// RevealResponse carries the unlock secret of a locked VM.
type RevealResponse struct {
	Secret string `json:"secret"`
}

// Health is the response body of GET /healthz.
type Health struct {
	Status string `json:"status"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}
