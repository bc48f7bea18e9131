// Package store defines the VirMO Server's persistent state: devices, VMs,
// the per-device command queue, operator intents, sealed unlock secrets, DM
// session state, enrollment tokens, settings and the audit log. Backends live
// in sub-packages (sqlite); storetest holds the contract suite every backend
// must pass unchanged.
//
// Nothing in a row of this package is a secret in clear: secrets, passwords
// and keys arrive sealed by the server, and command payloads never carry
// secrets or digests.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every backend returns (wrapped or not; test with errors.Is).
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: already exists")
	// ErrTokenUsed is returned when an enrollment token was used or expired.
	ErrTokenUsed = errors.New("store: enrollment token used or expired")
)

// Device is one enrolled device.
type Device struct {
	// ID is the server's id of the device, used in the API and CLI.
	ID string
	// DevID is the OMA DM DevInfo/DevId, the LocURI the device sends.
	DevID string
	Name  string
	// ServerID is the DMAcc ServerID the device knows this server by.
	ServerID string
	// ClientUser is the AAuthName of the device's client credentials.
	ClientUser string
	// ClientSecretSealed and ServerSecretSealed are the client and server
	// passwords sealed with the server key.
	ClientSecretSealed []byte
	ServerSecretSealed []byte
	// ClientNonce is the nonce the device must use for its next credentials;
	// ServerNonce the nonce the device gave the server for its credentials.
	ClientNonce []byte
	ServerNonce []byte
	// DevInfo holds the DevInfo leaves from the last Package 1.
	DevInfo map[string]string
	// AuthType is the credential type the device must use: AuthMD5 (also
	// the meaning of ""), AuthHMAC or AuthBasic.
	AuthType  string
	CreatedAt time.Time
	LastSeen  time.Time
}

// Values of Device.AuthType.
const (
	// AuthMD5 is syncml:auth-md5, the default.
	AuthMD5 = "md5"
	// AuthHMAC is syncml:auth-MAC, carried in the x-syncml-hmac header.
	AuthHMAC = "hmac"
	// AuthBasic is syncml:auth-basic, accepted only over TLS.
	AuthBasic = "basic"
)

// VM is the server's view of one VM on a device. Observed fields (State,
// LockState once confirmed) come only from the device.
type VM struct {
	DeviceID string
	Name     string
	VMID     string
	// State is the run state as last reported: stopped, running, paused,
	// failed, or unknown.
	State string
	// LockState is unlocked, lock_pending, locked or unlock_pending.
	LockState      string
	LockError      string
	LockGeneration int64
	UserUnlock     bool
	UpdatedAt      time.Time
}

// Lock states of a VM.
const (
	LockUnlocked      = "unlocked"
	LockPending       = "lock_pending"
	LockLocked        = "locked"
	LockUnlockPending = "unlock_pending"
)

// CommandState is the state of a queued command.
type CommandState string

// Command states: pending → sent → done | failed | cancelled.
const (
	CommandPending   CommandState = "pending"
	CommandSent      CommandState = "sent"
	CommandDone      CommandState = "done"
	CommandFailed    CommandState = "failed"
	CommandCancelled CommandState = "cancelled"
)

// Command is one entry of a device's queue. Payload is the server's JSON
// description of the DM command; it never holds a secret or digest.
type Command struct {
	DeviceID string
	// Seq is the per-device sequence number; the queue is ordered by it.
	Seq       int64
	IntentID  string
	Kind      string
	Payload   []byte
	State     CommandState
	Attempts  int
	SessionID string
	// Status is the OMA status the device returned (0 until answered) and
	// Result the data of its Results or alert, if any.
	Status    int
	Result    string
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Intent is an operator request on a VM, expanded into queued commands.
type Intent struct {
	ID       string
	DeviceID string
	VM       string
	// Kind is lock, unlock, start, stop, pause or resume.
	Kind string
	// State is pending, done, failed, superseded or cancelled.
	State string
	// Params is the JSON of the request's options (never a secret).
	Params    []byte
	SecretID  string
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Intent states.
const (
	IntentPending    = "pending"
	IntentDone       = "done"
	IntentFailed     = "failed"
	IntentSuperseded = "superseded"
	IntentCancelled  = "cancelled"
)

// Secret is a sealed user-unlock secret of one VM lock.
type Secret struct {
	ID       string
	DeviceID string
	VM       string
	// Sealed is the secret and its AuthData sealed with the server key;
	// DestroySecret empties it.
	Sealed      []byte
	CreatedAt   time.Time
	DestroyedAt time.Time
}

// Session is the stored state of one DM session, so that any replica can
// continue it. State is the session engine's own encoding.
type Session struct {
	DeviceID  string
	SessionID string
	State     []byte
	UpdatedAt time.Time
}

// EnrollToken is a one-time enrollment token, stored by its hash.
type EnrollToken struct {
	Hash      string
	Note      string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
	DeviceID  string
}

// AuditEntry is one row of the append-only audit log.
type AuditEntry struct {
	Seq    int64
	Time   time.Time
	Actor  string
	Action string
	Target string
	Detail string
}

// Queries is the data API of a store. Every method is one statement or one
// transaction of its own unless it runs inside InTx.
type Queries interface {
	CreateDevice(ctx context.Context, d Device) error
	GetDevice(ctx context.Context, id string) (Device, error)
	GetDeviceByDevID(ctx context.Context, devID string) (Device, error)
	ListDevices(ctx context.Context) ([]Device, error)
	// UpdateDevice overwrites every field of an existing device.
	UpdateDevice(ctx context.Context, d Device) error

	// PutVM inserts or overwrites a VM, keyed by DeviceID and Name.
	PutVM(ctx context.Context, vm VM) error
	GetVM(ctx context.Context, deviceID, name string) (VM, error)
	// ListVMs lists the VMs of one device, or of all devices when deviceID
	// is empty, ordered by device then name.
	ListVMs(ctx context.Context, deviceID string) ([]VM, error)
	DeleteVM(ctx context.Context, deviceID, name string) error

	// EnqueueCommand appends a command to the device's queue, assigning the
	// next Seq of that device, and returns the stored command.
	EnqueueCommand(ctx context.Context, c Command) (Command, error)
	GetCommand(ctx context.Context, deviceID string, seq int64) (Command, error)
	// ListCommands returns the device's commands in the given states (all
	// states when none is given), ordered by Seq, at most limit (0: all).
	ListCommands(ctx context.Context, deviceID string, limit int, states ...CommandState) ([]Command, error)
	// UpdateCommand overwrites State, Attempts, SessionID, Status, Result,
	// Error and UpdatedAt of an existing command.
	UpdateCommand(ctx context.Context, c Command) error
	// PruneCommands deletes done, failed and cancelled commands last
	// updated before the given time and returns how many it deleted.
	PruneCommands(ctx context.Context, before time.Time) (int, error)

	CreateIntent(ctx context.Context, in Intent) error
	GetIntent(ctx context.Context, id string) (Intent, error)
	UpdateIntent(ctx context.Context, in Intent) error
	// ListIntents returns the intents of one VM, newest first, optionally
	// only those in one state (empty: all).
	ListIntents(ctx context.Context, deviceID, vm, state string) ([]Intent, error)

	PutSecret(ctx context.Context, s Secret) error
	GetSecret(ctx context.Context, id string) (Secret, error)
	// DestroySecret erases the sealed bytes and sets DestroyedAt.
	DestroySecret(ctx context.Context, id string, at time.Time) error

	PutSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, deviceID, sessionID string) (Session, error)
	DeleteSessionsBefore(ctx context.Context, before time.Time) (int, error)

	CreateEnrollToken(ctx context.Context, t EnrollToken) error
	// UseEnrollToken marks an unused, unexpired token as used by deviceID,
	// or returns ErrTokenUsed (ErrNotFound for an unknown hash).
	UseEnrollToken(ctx context.Context, hash, deviceID string, now time.Time) error

	GetSetting(ctx context.Context, key string) ([]byte, error)
	PutSetting(ctx context.Context, key string, value []byte) error

	// AppendAudit stores an entry and returns it with its Seq.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// ListAudit returns entries with Seq > after, oldest first, at most limit.
	ListAudit(ctx context.Context, after int64, limit int) ([]AuditEntry, error)
}

// Store is a backend: the data API plus transactions.
type Store interface {
	Queries
	// InTx runs fn in one transaction: every call on q commits together if
	// fn returns nil and rolls back otherwise.
	InTx(ctx context.Context, fn func(q Queries) error) error
	Close() error
}
