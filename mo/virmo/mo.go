package virmo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/hypervisor"
)

// ErrNoSuchVM is returned by UnlockStatus for a VM that is not in the tree.
var ErrNoSuchVM = errors.New("virmo: no such VM")

// errNotAttached is returned by the methods that need a tree before Attach.
var errNotAttached = errors.New("virmo: MO is not attached to a tree: call Attach first")

// Options configures an MO.
type Options struct {
	// ProvisioningServerID is the ServerID of the server the agent enrolled
	// with. Only it gets Get and Replace on LockParams/UnlockAuth; while it
	// is empty no server can read or replace UnlockAuth.
	ProvisioningServerID string
	// MaxUnlockAttempts is the value Ext/MaxUnlockAttempts gets in a new
	// VirMO/<x>; 0 means DefaultMaxUnlockAttempts.
	MaxUnlockAttempts int
	// Logger receives one line per operation; nil discards.
	Logger *slog.Logger
}

// MO is the VirMO plugin. Mount it on a tree, then Attach the tree so Sync
// and UserUnlock can run local transactions.
type MO struct {
	drv  hypervisor.Driver
	opts Options
	log  *slog.Logger
	def  *dmtree.NodeDef
	tree *dmtree.Tree
	// warned maps a VM name to the last warning Sync logged about it. Only
	// Sync's transactions use it, and the tree runs them one at a time.
	warned map[string]string
}

// New returns the VirMO plugin for the VMs of drv.
func New(drv hypervisor.Driver, opts Options) *MO {
	if opts.MaxUnlockAttempts <= 0 {
		opts.MaxUnlockAttempts = DefaultMaxUnlockAttempts
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &MO{drv: drv, opts: opts, log: log, def: definition(),
		warned: make(map[string]string)}
}

// Attach gives the MO the tree it is mounted on; Sync, UserUnlock and
// UnlockStatus run their transactions on it.
func (m *MO) Attach(t *dmtree.Tree) { m.tree = t }

// Definition returns the DDF definition of ./VirMO.
func (m *MO) Definition() *dmtree.NodeDef { return m.def }

// RootACL is the ACL Sync gives ./VirMO when it has none: every server may
// run every command. LockParams/UnlockAuth carries its own ACL (UnlockAuthACL).
const RootACL = "Add=*&Delete=*&Exec=*&Get=*&Replace=*"

// UnlockAuthACL returns the ACL of LockParams/UnlockAuth: Add, Delete, Get
// and Replace for the provisioning server only. An empty serverID gives an
// ACL no server matches.
func UnlockAuthACL(serverID string) string {
	if serverID == "" {
		serverID = "-"
	}
	return "Add=" + serverID + "&Delete=" + serverID + "&Get=" + serverID +
		"&Replace=" + serverID
}

// vmTx reads and writes the nodes of one VirMO/<x> inside a transaction.
type vmTx struct {
	tx   *dmtree.Tx
	name string
}

// uri returns the URI of path below VirMO/<x>, or of VirMO/<x> itself for "".
func (v vmTx) uri(path string) string {
	if path == "" {
		return Root + "/" + v.name
	}
	return Root + "/" + v.name + "/" + path
}

// locURI returns the "./" form used in alert Source and Target LocURIs.
func (v vmTx) locURI(path string) string {
	return "./" + v.uri(path)
}

func (v vmTx) exists(path string) bool {
	_, err := v.tx.Node(v.uri(path))
	return err == nil
}

func (v vmTx) value(path string) ([]byte, error) {
	return v.tx.Value(v.uri(path))
}

func (v vmTx) int(path string) (int, error) {
	b, err := v.value(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return 0, fmt.Errorf("%s contains %q, expected an int", v.uri(path), b)
	}
	return n, nil
}

// bool returns the value of a bool leaf; a missing leaf reads as false.
func (v vmTx) bool(path string) bool {
	b, err := v.value(path)
	return err == nil && string(b) == "true"
}

// put stores value at path, adding the leaf when it is missing.
func (v vmTx) put(path string, format dmtree.Format, value string) error {
	uri := v.uri(path)
	if _, err := v.tx.Node(uri); err != nil {
		return v.tx.AddNode(uri, format, []byte(value))
	}
	return v.tx.SetValue(uri, []byte(value))
}

func (v vmTx) putInt(path string, n int) error {
	return v.put(path, dmtree.FormatInt, strconv.Itoa(n))
}

func (v vmTx) putBool(path string, b bool) error {
	return v.put(path, dmtree.FormatBool, strconv.FormatBool(b))
}

// unlockAuthComplete reports whether UnlockAuth exists with AuthType 0 and
// non-empty AuthData and AuthDigest: the condition for UserUnlock true.
func (v vmTx) unlockAuthComplete() bool {
	t, err := v.int(pathAuthType)
	if err != nil || t != AuthTypeDigestSHA256 {
		return false
	}
	data, err := v.value(pathAuthData)
	if err != nil || len(data) == 0 {
		return false
	}
	digest, err := v.value(pathAuthDigest)
	return err == nil && len(digest) > 0
}

// vmFor returns the VirMO/<x> the URI is below, and the URI's segments
// after it. ok is false for the root itself.
func vmFor(tx *dmtree.Tx, uri dmtree.URI) (v vmTx, rest []string, ok bool) {
	segs := uri.Segments()
	if len(segs) < 2 || segs[0] != Root {
		return vmTx{}, nil, false
	}
	return vmTx{tx: tx, name: segs[1]}, segs[2:], true
}

// Exec runs the Exec nodes of VirMO/<x>/Operations and
// VirMO/<x>/DM/LAWMO/Operations (see exec.go).
func (m *MO) Exec(ctx context.Context, tx *dmtree.Tx, req dmtree.ExecRequest) int {
	return m.exec(ctx, tx, req)
}

// BeforeChange applies the rules of LockParams, Config and Ext to a server's
// Add, Replace or Delete (see change.go).
func (m *MO) BeforeChange(tx *dmtree.Tx, ch dmtree.Change) error {
	return m.beforeChange(tx, ch)
}
