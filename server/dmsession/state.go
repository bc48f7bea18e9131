package dmsession

import (
	"encoding/json"
	"fmt"

	"github.com/virmo/virmo/syncml"
)

// stateVersion is the first field of every stored session state, so a later
// encoding can tell old rows apart.
const stateVersion = 1

// Phases of a session. The server reads the VM list, then the leaves of
// each VM, then sends queued commands until none is left.
const (
	phaseStart    = ""
	phaseVMList   = "vm-list"
	phaseVMLeaves = "vm-leaves"
	phaseQueue    = "queue"
)

// sessionState is the state of one session between messages, stored as
// JSON in store.Session.State. It never holds a nonce, password, Cred or
// unlock digest in clear, because the last reply is stored sealed.
type sessionState struct {
	Version       int  `json:"v"`
	Authenticated bool `json:"auth"`
	Ended         bool `json:"ended,omitempty"`
	// LastMsgID is the MsgID of the last message handled, RequestHash the
	// SHA-256 of its body and ReplySealed the sealed reply to it.
	LastMsgID   string `json:"last_msg"`
	RequestHash []byte `json:"req_hash"`
	ReplySealed []byte `json:"reply"`
	// ReplyMACSealed is the sealed x-syncml-hmac header of that reply,
	// empty unless the device uses syncml:auth-MAC.
	ReplyMACSealed []byte `json:"reply_mac,omitempty"`
	// AuthType is the credential type (store.AuthMD5, AuthHMAC or
	// AuthBasic) the session authenticated with. It is fixed for the
	// session: a message with another type ends it.
	AuthType string `json:"auth_type,omitempty"`
	// HandledMsgIDs lists the MsgIDs handled while authenticated. A new
	// body under one of them gets 400.
	HandledMsgIDs []string `json:"handled,omitempty"`
	// ServerMsgID is the MsgID of the last server message.
	ServerMsgID int `json:"server_msg"`
	// MaxMsgSize is the largest message the device accepts, from the Meta
	// of its SyncHdr (0: no limit given).
	MaxMsgSize int `json:"max_msg_size,omitempty"`
	// MaxObjSize is the largest object the device accepts, from the same
	// Meta (0: no limit given).
	MaxObjSize int    `json:"max_obj_size,omitempty"`
	Phase      string `json:"phase,omitempty"`
	// Outbound is the large object the server is sending in chunks;
	// Inbound the chunked Results it is receiving.
	Outbound *outboundObject `json:"out_obj,omitempty"`
	Inbound  *inboundObject  `json:"in_obj,omitempty"`
	// Refs maps "MsgID/CmdID" of every command the server sent to what it
	// was for.
	Refs map[string]sentRef `json:"refs,omitempty"`
	// Commands holds the queued commands delivered in this session by Seq.
	Commands  map[int64]*sentCommand `json:"cmds,omitempty"`
	Inventory *inventory             `json:"inv,omitempty"`

	// notices and broken live for one message only: the Alert 1225 commands
	// for the reply and the commands whose chunked Results failed.
	notices []syncml.Command
	broken  []brokenResults
}

// Kinds of sentRef.
const (
	refVMList  = "vm-list"
	refVMLeaf  = "vm-leaf"
	refCommand = "cmd"
)

// sentRef identifies one command the server sent. The (MsgRef, CmdRef) of
// a Status or Results finds it.
type sentRef struct {
	Kind string `json:"k"`
	// VM and Leaf name an inventory Get of refVMLeaf.
	VM   string `json:"vm,omitempty"`
	Leaf string `json:"leaf,omitempty"`
	// Seq is the queued command of refCommand.
	Seq int64 `json:"seq,omitempty"`
}

// sentCommand is the record of one queued command delivered in this
// session, with the status of each part. A Sequence has one part for
// itself and one per child.
type sentCommand struct {
	MsgID string        `json:"msg"`
	Parts []commandPart `json:"parts"`
	// Results holds the Data of the Results for a Get, in arrival order.
	Results  []string `json:"results,omitempty"`
	Accept   []int    `json:"accept,omitempty"`
	Resolved bool     `json:"resolved,omitempty"`
}

// commandPart is one CmdID of a sent command and the status it got (0 while
// unanswered).
type commandPart struct {
	CmdID  string `json:"id"`
	Name   string `json:"name"`
	Status int    `json:"status,omitempty"`
}

func newSessionState() *sessionState {
	return &sessionState{
		Version:  stateVersion,
		Refs:     map[string]sentRef{},
		Commands: map[int64]*sentCommand{},
	}
}

// decodeState parses a stored session state. It fails on a version it does
// not know, so an old engine never misreads a newer row.
func decodeState(data []byte) (*sessionState, error) {
	st := &sessionState{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("decode session state: %w", err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("decode session state: version %d, expected %d",
			st.Version, stateVersion)
	}
	if st.Refs == nil {
		st.Refs = map[string]sentRef{}
	}
	if st.Commands == nil {
		st.Commands = map[int64]*sentCommand{}
	}
	// A row is the engine's own, but a damaged one must not crash it.
	for seq, c := range st.Commands {
		if c == nil || len(c.Parts) == 0 {
			delete(st.Commands, seq)
		}
	}
	if inv := st.Inventory; inv != nil {
		for name, leaves := range inv.Leaves {
			if leaves == nil {
				inv.Leaves[name] = map[string]leafAnswer{}
			}
		}
	}
	return st, nil
}

func refKey(msgID, cmdID string) string { return msgID + "/" + cmdID }

func (st *sessionState) handled(msgID string) bool {
	for _, id := range st.HandledMsgIDs {
		if id == msgID {
			return true
		}
	}
	return false
}
