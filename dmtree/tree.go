package dmtree

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// node is one node of the tree. Nodes reachable from a committed root are
// never modified: a transaction copies a node before it changes it (see
// Tx.writable), and a value slice is replaced, never written to.
type node struct {
	format Format
	typ    string
	value  []byte
	acl    string
	title  string
	tstamp int64
	verno  uint16
	// children is non-nil exactly for interior nodes.
	children map[string]*node
	def      *NodeDef
}

func (n *node) interior() bool { return n.format == FormatNode }

// sortedNames returns the child names of n in byte order.
func sortedNames(n *node) []string { return slices.Sorted(maps.Keys(n.children)) }

// mount is a plugin and the definition it returned at Mount.
type mount struct {
	plugin Plugin
	def    *NodeDef
}

// Tree is a management tree. It is safe for concurrent use: commands and
// local transactions run one at a time, and View runs beside other views.
type Tree struct {
	mu      sync.RWMutex
	root    *node
	mounts  map[string]*mount
	persist PersistFunc
	now     func() int64
}

// New returns a tree with only the root node. It panics if opts.RootACL is
// set and is not a valid ACL, since that is a programming error.
func New(opts Options) *Tree {
	rootACL := opts.RootACL
	if rootACL == "" {
		rootACL = DefaultRootACL
	}
	if _, err := ParseACL(rootACL); err != nil {
		panic(fmt.Sprintf("dmtree: invalid Options.RootACL %q: %v", rootACL, err))
	}
	now := opts.Now
	if now == nil {
		now = func() int64 { return time.Now().Unix() }
	}
	t := &Tree{
		mounts:  make(map[string]*mount),
		persist: opts.Persist,
		now:     now,
	}
	t.root = &node{
		format:   FormatNode,
		acl:      rootACL,
		tstamp:   now(),
		children: make(map[string]*node),
	}
	return t
}

// Mount adds a plugin at the root segment its Definition names and creates
// the permanent nodes of the definition: the root, then every named child
// definition with Occurrence One or Scope Permanent, recursively, with its
// Default value. The MO root gets Type = Definition().Type. Mount changes
// only memory; nothing is persisted until the first commit.
func (t *Tree) Mount(p Plugin) error {
	def := p.Definition()
	if def == nil {
		return fmt.Errorf("mount plugin: Definition returned nil")
	}
	if err := checkSegment(def.Name); err != nil {
		return fmt.Errorf("mount plugin %q: invalid root name: %w", def.Name, err)
	}
	if defFormat(def) != FormatNode {
		return fmt.Errorf("mount plugin %q: root format is %q, expected node", def.Name, def.Format)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.mounts[def.Name]; ok {
		return fmt.Errorf("mount plugin %q: a plugin is already mounted there", def.Name)
	}
	if n := t.root.children[def.Name]; n != nil && !n.interior() {
		return fmt.Errorf("mount plugin %q: a leaf node exists at ./%s", def.Name, def.Name)
	}

	t.mounts[def.Name] = &mount{plugin: p, def: def}
	tx := t.begin(false)
	defer tx.close()
	if err := t.mountNodes(tx, def.Name); err != nil {
		delete(t.mounts, def.Name)
		return err
	}
	t.root = tx.root
	return nil
}

// mountNodes creates the missing permanent nodes of the plugin mounted at
// name and binds existing nodes below it to their definitions.
func (t *Tree) mountNodes(tx *Tx, name string) error {
	m := t.mounts[name]
	u := URI{segments: []string{name}}
	if tx.lookup(u) == nil {
		if err := tx.create(u, m.def, "", nil); err != nil {
			return fmt.Errorf("mount plugin %q: %w", name, err)
		}
	}
	if n := tx.lookup(u); n.typ != m.def.Type {
		tx.modify(u, func(n *node) { n.typ = m.def.Type })
	}
	t.bindDefs(tx, u)
	return t.addRequired(tx, u, m.def, "")
}

// bindDefs sets the definition of every node at and below u in tx.
func (t *Tree) bindDefs(tx *Tx, u URI) {
	n := tx.lookup(u)
	if def := t.matchDef(u); n.def != def {
		n = tx.writable(u)
		n.def = def
	}
	for _, name := range sortedNames(n) {
		t.bindDefs(tx, u.Child(name))
	}
}

// addRequired creates the children of the node at u that def requires:
// named child definitions with Occurrence One or Scope Permanent, with
// their Default values, recursively. It skips the child called skip, which
// the caller is about to create itself.
func (t *Tree) addRequired(tx *Tx, u URI, def *NodeDef, skip string) error {
	for _, child := range def.Children {
		if child.Name == "" || child.Name == skip {
			continue
		}
		if child.Occurrence != OccurrenceOne && child.Scope != ScopePermanent {
			continue
		}
		cu := u.Child(child.Name)
		if tx.lookup(cu) == nil {
			if err := tx.create(cu, child, child.Type, []byte(child.Default)); err != nil {
				return err
			}
		}
		if defFormat(child) == FormatNode {
			if err := t.addRequired(tx, cu, child, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// defFormat returns the format a definition gives its node: its Format, or
// node for a definition with children and chr otherwise.
func defFormat(def *NodeDef) Format {
	switch {
	case def.Format != "":
		return def.Format
	case len(def.Children) > 0:
		return FormatNode
	default:
		return FormatChr
	}
}

// mountOf returns the plugin mount that owns u, or nil when u is the root
// or lies outside every plugin.
func (t *Tree) mountOf(u URI) *mount {
	if u.IsRoot() {
		return nil
	}
	return t.mounts[u.segments[0]]
}

// matchDef returns the definition of the node at u: the plugin root's
// definition, then at each segment the child definition with that name or,
// failing that, the runtime-named one. It returns nil outside plugins and
// where no definition matches.
func (t *Tree) matchDef(u URI) *NodeDef {
	m := t.mountOf(u)
	if m == nil {
		return nil
	}
	def := m.def
	for _, seg := range u.segments[1:] {
		def = childDef(def, seg)
		if def == nil {
			return nil
		}
	}
	return def
}

func childDef(def *NodeDef, name string) *NodeDef {
	var runtime *NodeDef
	for _, c := range def.Children {
		switch c.Name {
		case name:
			return c
		case "":
			runtime = c
		}
	}
	return runtime
}

// permanent reports whether servers may neither create nor delete the
// node at u: the root, plugin roots and nodes defined with Scope Permanent.
func (t *Tree) permanent(u URI, def *NodeDef) bool {
	if len(u.segments) <= 1 && (u.IsRoot() || t.mountOf(u) != nil) {
		return true
	}
	return def != nil && def.Scope == ScopePermanent
}

// Update runs fn as a local transaction of the device itself: no ACL or
// access-type checks and no plugin hooks. If fn returns nil the changes and
// queued alerts are persisted and committed; otherwise they are dropped.
// A Persist error is returned and the changes are dropped too.
func (t *Tree) Update(fn func(tx *Tx) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	tx := t.begin(false)
	defer tx.close()
	if err := fn(tx); err != nil {
		return err
	}
	return t.commit(tx)
}

// View runs fn with a read-only view of the tree. Changes through the Tx
// fail with ErrReadOnly.
func (t *Tree) View(fn func(tx *Tx) error) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	tx := t.begin(true)
	defer tx.close()
	return fn(tx)
}

// commit persists tx when it changed the tree or queued alerts, and then
// makes its root the committed one. On a Persist error the committed tree
// stays as it was.
func (t *Tree) commit(tx *Tx) error {
	if !tx.dirty && len(tx.alerts) == 0 {
		return nil
	}
	if t.persist != nil {
		snapshot, err := encodeSnapshot(tx.root)
		if err != nil {
			return fmt.Errorf("encode tree snapshot: %w", err)
		}
		if err := t.persist(snapshot, slices.Clone(tx.alerts)); err != nil {
			return fmt.Errorf("persist tree: %w", err)
		}
	}
	t.root = tx.root
	return nil
}
