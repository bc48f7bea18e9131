package dmtree

import (
	"errors"
	"maps"
	"slices"
)

// ErrReadOnly is returned by the changing methods of a Tx from View.
var ErrReadOnly = errors.New("dmtree: change in a read-only transaction")

// ErrTxClosed is returned by a Tx used after its callback or hook returned.
var ErrTxClosed = errors.New("dmtree: transaction used after it ended")

// Tx is a transaction on the tree. It is valid only inside the callback or
// hook that received it.
//
// A Tx works copy-on-write: it starts from the committed root, copies each
// node on the path to a node it changes, and commits by replacing the root.
// Nodes it copied are listed in owned and changed in place; a savepoint
// empties owned, so later changes copy again and the saved root stays intact.
type Tx struct {
	tree     *Tree
	root     *node
	owned    map[*node]bool
	alerts   []Alert
	dirty    bool
	readOnly bool
	closed   bool
	now      int64
}

// savepoint is a state of a Tx that restore returns to.
type savepoint struct {
	root   *node
	alerts int
	dirty  bool
}

func (t *Tree) begin(readOnly bool) *Tx {
	return &Tx{
		tree:     t,
		root:     t.root,
		owned:    make(map[*node]bool),
		readOnly: readOnly,
		now:      t.now(),
	}
}

func (tx *Tx) close() { tx.closed = true }

func (tx *Tx) save() savepoint {
	clear(tx.owned)
	return savepoint{root: tx.root, alerts: len(tx.alerts), dirty: tx.dirty}
}

func (tx *Tx) restore(sp savepoint) {
	clear(tx.owned)
	tx.root = sp.root
	tx.alerts = tx.alerts[:sp.alerts]
	tx.dirty = sp.dirty
}

// lookup returns the node at u, or nil. The node must not be changed.
func (tx *Tx) lookup(u URI) *node {
	n := tx.root
	for _, seg := range u.segments {
		n = n.children[seg]
		if n == nil {
			return nil
		}
	}
	return n
}

// own returns n itself if tx copied it already, or a copy that tx owns.
func (tx *Tx) own(n *node) *node {
	if tx.owned[n] {
		return n
	}
	c := *n
	if n.children != nil {
		c.children = maps.Clone(n.children)
	}
	tx.owned[&c] = true
	return &c
}

// writable copies the path from the root to u and returns the node at u,
// which tx may then change in place; nil if there is no node at u.
func (tx *Tx) writable(u URI) *node {
	if tx.lookup(u) == nil {
		return nil
	}
	tx.dirty = true
	tx.root = tx.own(tx.root)
	n := tx.root
	for _, seg := range u.segments {
		c := tx.own(n.children[seg])
		n.children[seg] = c
		n = c
	}
	return n
}

// touch records a change of n: TStamp now, VerNo one up (wrapping at 16
// bits).
func (tx *Tx) touch(n *node) {
	n.tstamp = tx.now
	n.verno++
}

// modify applies fn to a writable copy of the node at u and touches it.
func (tx *Tx) modify(u URI, fn func(n *node)) {
	n := tx.writable(u)
	fn(n)
	tx.touch(n)
}

// put inserts n at u. The parent must exist and be interior, and u must be
// free.
func (tx *Tx) put(u URI, n *node) error {
	parent := tx.lookup(u.Parent())
	switch {
	case u.IsRoot():
		return Errorf(418, "the root node already exists")
	case parent == nil:
		return Errorf(404, "parent of %s not found", u)
	case !parent.interior():
		return Errorf(404, "parent of %s is a leaf, expected an interior node", u)
	case parent.children[u.Name()] != nil:
		return Errorf(418, "node %s already exists", u)
	}
	if n.interior() && n.children == nil {
		n.children = make(map[string]*node)
	}
	n.tstamp = tx.now
	tx.owned[n] = true
	tx.modify(u.Parent(), func(p *node) { p.children[u.Name()] = n })
	return nil
}

// create inserts a node made from def at u, with the given Type and value.
func (tx *Tx) create(u URI, def *NodeDef, typ string, value []byte) error {
	n := &node{format: defFormat(def), typ: typ, def: def}
	if !n.interior() {
		n.value = value
	}
	return tx.put(u, n)
}

// remove deletes the node at u and its subtree.
func (tx *Tx) remove(u URI) {
	tx.modify(u.Parent(), func(p *node) { delete(p.children, u.Name()) })
}

// rename moves the node at u to the sibling name.
func (tx *Tx) rename(u URI, name string) {
	tx.modify(u.Parent(), func(p *node) {
		p.children[name] = p.children[u.Name()]
		delete(p.children, u.Name())
	})
	tx.modify(u.Parent().Child(name), func(*node) {})
}

// copyNode returns the public copy of n at u.
func copyNode(u URI, n *node) *Node {
	c := &Node{
		URI:    u,
		Format: n.format,
		Type:   n.typ,
		Value:  slices.Clone(n.value),
		ACL:    n.acl,
		Title:  n.title,
		TStamp: n.tstamp,
		VerNo:  n.verno,
		Def:    n.def,
	}
	if n.interior() {
		c.Children = sortedNames(n)
		c.Value = nil
	}
	return c
}

// usable returns an error when tx may not be used, or may not change the
// tree when change is true.
func (tx *Tx) usable(change bool) error {
	if tx.closed {
		return ErrTxClosed
	}
	if change && tx.readOnly {
		return ErrReadOnly
	}
	return nil
}

// Node returns a copy of the node at uri, or a 404 *StatusError.
func (tx *Tx) Node(uri string) (*Node, error) {
	u, n, err := tx.find(uri)
	if err != nil {
		return nil, err
	}
	return copyNode(u, n), nil
}

// find parses uri and returns the node there, or a *StatusError.
func (tx *Tx) find(uri string) (URI, *node, error) {
	if err := tx.usable(false); err != nil {
		return URI{}, nil, err
	}
	u, err := ParseURI(uri)
	if err != nil {
		return URI{}, nil, err
	}
	n := tx.lookup(u)
	if n == nil {
		return URI{}, nil, Errorf(404, "node %s not found", u)
	}
	return u, n, nil
}

// Value returns the raw value of the leaf at uri: 404 if there is no node,
// 405 for an interior node.
func (tx *Tx) Value(uri string) ([]byte, error) {
	u, n, err := tx.find(uri)
	if err != nil {
		return nil, err
	}
	if n.interior() {
		return nil, Errorf(405, "node %s is interior and has no value", u)
	}
	return slices.Clone(n.value), nil
}

// SetValue stores the raw value of an existing leaf, checking it against the
// node's format (415 on mismatch).
func (tx *Tx) SetValue(uri string, value []byte) error {
	if err := tx.usable(true); err != nil {
		return err
	}
	u, n, err := tx.find(uri)
	if err != nil {
		return err
	}
	if n.interior() {
		return Errorf(405, "node %s is interior and has no value", u)
	}
	if err := checkValue(n.format, value); err != nil {
		return err
	}
	value = slices.Clone(value)
	tx.modify(u, func(n *node) { n.value = value })
	return nil
}

// AddNode creates a node (interior when format is FormatNode), creating
// missing interior parents. It creates only the nodes named: AddFromDef adds
// a node together with the children its definition requires. Errors: 418
// if the node exists, 404 if an ancestor is a leaf, 415 if the value does
// not fit the format (FormatB64 is a wire format and is rejected).
func (tx *Tx) AddNode(uri string, format Format, value []byte) error {
	if err := tx.usable(true); err != nil {
		return err
	}
	u, err := ParseURI(uri)
	if err != nil {
		return err
	}
	if format == FormatNode && len(value) > 0 {
		return Errorf(415, "interior node %s cannot have a value", u)
	}
	if format != FormatNode {
		if err := checkValue(format, value); err != nil {
			return err
		}
	}
	if err := tx.addParents(u); err != nil {
		return err
	}
	n := &node{format: format, def: tx.tree.matchDef(u)}
	if format != FormatNode {
		n.value = slices.Clone(value)
	}
	return tx.put(u, n)
}

// AddFromDef creates the node at uri from its definition: the definition's
// format and Type, the Default value for a leaf, and for an interior node
// the named children with Occurrence One or Scope Permanent, recursively.
// Missing interior parents are created. It returns 404 when no plugin
// definition matches uri and 418 when the node exists.
func (tx *Tx) AddFromDef(uri string) error {
	if err := tx.usable(true); err != nil {
		return err
	}
	u, err := ParseURI(uri)
	if err != nil {
		return err
	}
	def := tx.tree.matchDef(u)
	if def == nil {
		return Errorf(404, "no node definition matches %s", u)
	}
	if err := tx.addParents(u); err != nil {
		return err
	}
	if err := tx.create(u, def, def.Type, []byte(def.Default)); err != nil {
		return err
	}
	return tx.tree.addRequired(tx, u, def, "")
}

// addParents creates the missing interior ancestors of u.
func (tx *Tx) addParents(u URI) error {
	for i := 1; i < len(u.segments); i++ {
		p := URI{segments: u.segments[:i:i]}
		n := tx.lookup(p)
		if n == nil {
			err := tx.put(p, &node{format: FormatNode, def: tx.tree.matchDef(p)})
			if err != nil {
				return err
			}
			continue
		}
		if !n.interior() {
			return Errorf(404, "ancestor %s of %s is a leaf", p, u)
		}
	}
	return nil
}

// Delete removes a node and its subtree. Local changes may delete permanent
// nodes, but never the root (405).
func (tx *Tx) Delete(uri string) error {
	if err := tx.usable(true); err != nil {
		return err
	}
	u, _, err := tx.find(uri)
	if err != nil {
		return err
	}
	if u.IsRoot() {
		return Errorf(405, "the root node cannot be deleted")
	}
	tx.remove(u)
	return nil
}

// SetACL sets the ACL property of a node. It returns 400 for an invalid
// ACL and for an empty root ACL, since the root has nothing to inherit from.
func (tx *Tx) SetACL(uri, acl string) error {
	if err := tx.usable(true); err != nil {
		return err
	}
	u, _, err := tx.find(uri)
	if err != nil {
		return err
	}
	if _, err := ParseACL(acl); err != nil {
		return err
	}
	if u.IsRoot() && acl == "" {
		return Errorf(400, "the root ACL cannot be empty")
	}
	tx.modify(u, func(n *node) { n.acl = acl })
	return nil
}

// QueueAlert adds a Generic Alert to be persisted with this transaction. It
// panics on a Tx used after it ended or a read-only one, since the alert
// would be lost.
func (tx *Tx) QueueAlert(a Alert) {
	if err := tx.usable(true); err != nil {
		panic(err)
	}
	tx.alerts = append(tx.alerts, a)
}
