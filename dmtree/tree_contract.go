package dmtree

import (
	"context"

	"github.com/virmo/virmo/syncml"
)

// This file lists the engine's entry points. TODO: replace the stubs with
// the implementation and delete this comment.

// URI is a canonical management tree URI: its segments without "./".
// The zero URI is the root ".".
type URI struct{ segments []string }

// ParseURI canonicalises s ("./A/B" and "A/B" are the same URI) and rejects
// a trailing "/", "." or ".." segments other than a leading "./", and empty
// segments, with a *StatusError (400, or 414 over the limits).
func ParseURI(s string) (URI, error) { panic("dmtree: not implemented") }

// String returns the canonical form without a leading "./" ("" for root
// is returned as ".").
func (u URI) String() string { panic("dmtree: not implemented") }

// Segments returns a copy of the URI's segments.
func (u URI) Segments() []string { return append([]string(nil), u.segments...) }

// Tree is a management tree. It is safe for concurrent use: commands and
// local transactions run one at a time.
type Tree struct{}

// New returns a tree with only the root node.
func New(opts Options) *Tree { panic("dmtree: not implemented") }

// Mount adds a plugin at the root segment its Definition names and creates
// the permanent nodes of the definition.
func (t *Tree) Mount(p Plugin) error { panic("dmtree: not implemented") }

// Load replaces the tree's nodes with a snapshot from Persist. Call it after
// Mount, before serving commands.
func (t *Tree) Load(snapshot []byte) error { panic("dmtree: not implemented") }

// Execute runs one server command (any of Add, Alert, Atomic, Copy, Delete,
// Exec, Get, Replace, Sequence) and returns the Status commands, and Results
// for a Get, that answer it, in order. CmdID is left empty for the caller to
// number; MsgRef is s.MsgRef and CmdRef the command's CmdID.
func (t *Tree) Execute(ctx context.Context, s Session, cmd syncml.Command) []syncml.Command {
	panic("dmtree: not implemented")
}

// Update runs fn as a local transaction of the device itself: no ACL or
// access-type checks and no plugin hooks. If fn returns nil the changes and
// queued alerts are persisted and committed; otherwise they are dropped.
func (t *Tree) Update(fn func(tx *Tx) error) error { panic("dmtree: not implemented") }

// View runs fn with a read-only view of the tree.
func (t *Tree) View(fn func(tx *Tx) error) error { panic("dmtree: not implemented") }

// Tx is a transaction on the tree. It is valid only inside the callback or
// hook that received it.
type Tx struct{}

// Node returns a copy of the node at uri, or a 404 *StatusError.
func (tx *Tx) Node(uri string) (*Node, error) { panic("dmtree: not implemented") }

// Value returns the raw value of the leaf at uri.
func (tx *Tx) Value(uri string) ([]byte, error) { panic("dmtree: not implemented") }

// SetValue stores the raw value of an existing leaf, checking it against the
// node's format (415 on mismatch).
func (tx *Tx) SetValue(uri string, value []byte) error { panic("dmtree: not implemented") }

// AddNode creates a node (interior when format is FormatNode), creating
// missing interior parents.
func (tx *Tx) AddNode(uri string, format Format, value []byte) error {
	panic("dmtree: not implemented")
}

// Delete removes a node and its subtree.
func (tx *Tx) Delete(uri string) error { panic("dmtree: not implemented") }

// SetACL sets the ACL property of a node.
func (tx *Tx) SetACL(uri, acl string) error { panic("dmtree: not implemented") }

// QueueAlert adds a Generic Alert to be persisted with this transaction.
func (tx *Tx) QueueAlert(a Alert) { panic("dmtree: not implemented") }
