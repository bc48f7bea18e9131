// Package dmtree is the OMA DM management tree engine: canonical URIs,
// interior and leaf nodes, formats, access types, ACLs, properties, and the
// execution of DM commands (Add, Replace, Delete, Copy, Get, Exec, Atomic,
// Sequence) with their OMA status codes. Management objects plug in through
// the Plugin interface; the engine does the URI, ACL, access-type and format
// checks, so a plugin only implements behaviour. The package does no I/O:
// persistence is a callback that receives a snapshot.
package dmtree

import (
	"context"
	"fmt"
)

// Format is a node format (the Format property, Meta Format on the wire).
type Format string

// Node formats of OMA DM 1.2 (DM TND). FormatB64 is a wire format only: a
// b64 value sent to a bin node is decoded once and stored as bin.
const (
	FormatNode  Format = "node"
	FormatChr   Format = "chr"
	FormatInt   Format = "int"
	FormatBool  Format = "bool"
	FormatBin   Format = "bin"
	FormatB64   Format = "b64"
	FormatNull  Format = "null"
	FormatXML   Format = "xml"
	FormatDate  Format = "date"
	FormatTime  Format = "time"
	FormatFloat Format = "float"
)

// AccessType is a set of DDF access types.
type AccessType uint8

// DDF access types.
const (
	AccessAdd AccessType = 1 << iota
	AccessCopy
	AccessDelete
	AccessExec
	AccessGet
	AccessReplace
)

// Occurrence is the DDF Occurrence of a node definition.
type Occurrence string

// DDF occurrences.
const (
	OccurrenceOne        Occurrence = "One"
	OccurrenceZeroOrOne  Occurrence = "ZeroOrOne"
	OccurrenceZeroOrMore Occurrence = "ZeroOrMore"
	OccurrenceOneOrMore  Occurrence = "OneOrMore"
)

// Scope is the DDF Scope of a node definition.
type Scope string

// DDF scopes.
const (
	ScopePermanent Scope = "Permanent"
	ScopeDynamic   Scope = "Dynamic"
)

// NodeDef is the DDF definition of one node and its children. A NodeDef with
// an empty Name stands for runtime-named nodes (the <x> of a DDF).
type NodeDef struct {
	Name        string
	Format      Format
	Type        string
	Access      AccessType
	Occurrence  Occurrence
	Scope       Scope
	Default     string
	Description string
	Children    []*NodeDef
}

// Node is a copy of one node of the tree, as Tx.Node returns it.
type Node struct {
	URI    URI
	Format Format
	Type   string
	// Value is the raw value of a leaf (bin values decoded).
	Value []byte
	ACL   string
	Title string
	// TStamp is the last change time, Unix seconds; VerNo counts changes.
	TStamp int64
	VerNo  uint16
	// Children lists the child names of an interior node, sorted.
	Children []string
	// Def is the definition the node was matched to, nil if none.
	Def *NodeDef
}

// Op is the kind of change a server command makes.
type Op string

// Change operations passed to Plugin.BeforeChange.
const (
	OpAdd     Op = "Add"
	OpReplace Op = "Replace"
	OpDelete  Op = "Delete"
)

// Change describes one change a server command is about to make.
type Change struct {
	Op       Op
	ServerID string
	URI      URI
	// Old is the node before the change (nil for Add); New the node after
	// it (nil for Delete).
	Old *Node
	New *Node
}

// Alert is a Generic Alert (1226) queued for the server. The persistence
// callback receives queued alerts with the tree snapshot in one commit, so a
// change and the alert that reports it are stored together or not at all.
type Alert struct {
	Type       string
	Format     string
	Mark       string
	Source     string
	Target     string
	Data       string
	Correlator string
}

// ExecRequest is one Exec addressed to a node a plugin owns.
type ExecRequest struct {
	ServerID   string
	URI        URI
	Data       string
	Correlator string
}

// Plugin implements the behaviour of one management object. The engine
// calls it with the tree lock held, inside the transaction of the command.
type Plugin interface {
	// Definition returns the definition of the MO root; its Name is the root
	// segment the plugin is mounted at (for example "VirMO").
	Definition() *NodeDef
	// BeforeChange runs before a server's Add, Replace or Delete of a node
	// below the root is applied. Returning an error rejects the command: a
	// *StatusError gives its code, any other error 500. The plugin may make
	// further changes through tx (they commit or roll back with the command).
	BeforeChange(tx *Tx, ch Change) error
	// Exec runs an Exec on a node below the root and returns the OMA status
	// of the Exec (200, 202, or an error status).
	Exec(ctx context.Context, tx *Tx, req ExecRequest) int
}

// StatusError is an error that carries the OMA status code a command gets.
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %d: %s", e.Code, e.Msg) }

// Errorf returns a *StatusError with the given code and message.
func Errorf(code int, format string, args ...any) error {
	return &StatusError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// PersistFunc stores a committed snapshot of the tree together with the
// alerts the transaction queued. It must be durable when it returns: a
// commit is visible only after it succeeds, and a failed call rolls the
// commit back.
type PersistFunc func(snapshot []byte, alerts []Alert) error

// Options configures a Tree.
type Options struct {
	// Persist is called on every commit; nil keeps the tree in memory.
	Persist PersistFunc
	// RootACL is the ACL of the root node; empty means "Add=*&Get=*".
	RootACL string
	// Now returns the current time in Unix seconds; nil uses time.Now.
	Now func() int64
}

// Session identifies the server whose commands the engine executes, for the
// ACL checks and for MsgRef in the statuses it returns.
type Session struct {
	ServerID string
	MsgRef   string
}
