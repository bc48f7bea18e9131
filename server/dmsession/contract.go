// Package dmsession is the server's OMA DM session engine: it serves /dm,
// authenticates devices, turns queued commands into SyncML, matches every
// Status by (MsgRef, CmdRef) and reports what devices observed through
// Hooks. Session state lives in the store, so any replica can continue a
// session.
package dmsession

import (
	"context"

	"github.com/virmo/virmo/store"
)

// CommandKindDM is the Kind of a queued command whose Payload is a Payload.
const CommandKindDM = "dm"

// Payload is the JSON payload of a queued command of kind "dm". It never
// contains a secret or digest. An Item whose Data is PlaceholderAuthData or
// PlaceholderAuthDigest is filled at send time from Hooks.UnlockAuth with
// SecretID.
type Payload struct {
	// Command is the DM command to send (Add, Replace, Delete, Exec, Get,
	// Sequence or Atomic), without CmdID, because the engine numbers it
	// per message. An Exec without a Correlator gets c<seq>, the command's
	// queue sequence number, which its OperationComplete alert echoes.
	Command CommandTemplate `json:"command"`
	// SecretID names the sealed secret for the placeholders, if any.
	SecretID string `json:"secret_id,omitempty"`
	// AcceptStatuses lists error statuses that still count as success for
	// this command (418 for an Add of a node that may already exist).
	AcceptStatuses []int `json:"accept_statuses,omitempty"`
}

// CommandTemplate is the JSON form of a syncml.Command to send.
type CommandTemplate struct {
	Name       string            `json:"name"`
	Correlator string            `json:"correlator,omitempty"`
	Items      []ItemTemplate    `json:"items,omitempty"`
	Commands   []CommandTemplate `json:"commands,omitempty"`
}

// ItemTemplate is the JSON form of one Item to send.
type ItemTemplate struct {
	Target string `json:"target"`
	Format string `json:"format,omitempty"`
	Type   string `json:"type,omitempty"`
	Data   string `json:"data"`
	// HasData is false for an Item sent without a Data element (Get, Exec
	// without argument, Delete).
	HasData bool `json:"has_data,omitempty"`
}

// Placeholders replaced at send time with the base64 AuthData and
// AuthDigest of Payload.SecretID.
const (
	PlaceholderAuthData   = "${AuthData}"
	PlaceholderAuthDigest = "${AuthDigest}"
)

// Alert is a Generic Alert (1226) a device sent.
type Alert struct {
	Type       string
	Format     string
	Mark       string
	Source     string
	Target     string
	Data       string
	Correlator string
}

// ObservedVM is the state of one ./VirMO/<x> read back in a session.
type ObservedVM struct {
	Name string
	VMID string
	// State is the VirMO/<x>/State value (10, 20, 30, 50), and LockState
	// the LockParams/State value (0 or 1). Each is -1 when its Get failed.
	State          int
	LockState      int
	UserUnlock     bool
	LockGeneration int64
}

// Hooks is the engine's interface to the rest of the server. Each call
// gets q, the store transaction of the message being handled, so the
// engine's changes and the hook's commit together.
type Hooks interface {
	// UnlockAuth returns AuthData and the digest SHA-256(secret ‖ AuthData)
	// of a sealed secret.
	UnlockAuth(ctx context.Context, secretID string) (authData, digest []byte, err error)
	// CommandAnswered reports the final Status of a queued command (or of
	// its Exec's OperationComplete alert, matched by Correlator).
	//
	// The engine has already stored cmd with its final State (done or
	// failed), Status, Result and Error. status is the OMA status of the
	// command, or the alert's Data as an integer for an Exec whose Status
	// was 202. It is 0 when the command failed without a reply, because it
	// was sent MaxAttempts times or its payload cannot be sent, and
	// cmd.Error then names the cause. result is the Data of the Results of
	// a Get, or the alert's Data.
	CommandAnswered(ctx context.Context, q store.Queries, cmd store.Command, status int, result string) error
	// AlertReceived reports a Generic Alert that matched no command
	// (UserUnlock, StateChange, and LAWMO alerts).
	AlertReceived(ctx context.Context, q store.Queries, deviceID string, a Alert) error
	// InventoryObserved reports the VMs a session read back.
	InventoryObserved(ctx context.Context, q store.Queries, deviceID string, vms []ObservedVM) error
}
