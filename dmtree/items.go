package dmtree

import (
	"context"

	"github.com/virmo/virmo/syncml"
)

// effectiveACL returns the ACL that governs the node at u: its own ACL, or
// the nearest ancestor's non-empty ACL as a whole. When u does not exist,
// the walk stops at its nearest existing ancestor.
func effectiveACL(root *node, u URI) ACL {
	acl := root.acl
	n := root
	for _, seg := range u.segments {
		n = n.children[seg]
		if n == nil {
			break
		}
		if n.acl != "" {
			acl = n.acl
		}
	}
	// Stored ACLs were checked when they were set or loaded.
	parsed, _ := ParseACL(acl)
	return parsed
}

// checkACL returns 425 unless the ACL governing u grants cmd to the server.
func checkACL(tx *Tx, s Session, u URI, cmd string) error {
	if !effectiveACL(tx.root, u).Allows(cmd, s.ServerID) {
		return Errorf(425, "server %q has no %s right on %s", s.ServerID, cmd, u)
	}
	return nil
}

// checkAccess returns 405 when the node has a definition that lacks the
// access type. Nodes without a definition are governed by their ACL only.
func checkAccess(u URI, def *NodeDef, access AccessType, cmd string) error {
	if def != nil && def.Access&access == 0 {
		return Errorf(405, "%s is not allowed on %s by its definition", cmd, u)
	}
	return nil
}

// itemTarget parses the Target LocURI of an item (412 if it has none).
func itemTarget(item syncml.Item) (Target, error) {
	if item.Target == nil || item.Target.LocURI == "" {
		return Target{}, Errorf(412, "item has no Target LocURI")
	}
	return ParseTarget(item.Target.LocURI)
}

// nodeTarget parses the Target of an item that must name a node, not a
// property or a list (405).
func nodeTarget(item syncml.Item, cmd string) (URI, error) {
	tgt, err := itemTarget(item)
	if err != nil {
		return URI{}, err
	}
	if tgt.Prop != "" || tgt.List != "" {
		return URI{}, Errorf(405, "%s is not allowed on %s", cmd, item.Target.LocURI)
	}
	return tgt.URI, nil
}

// beforeChange calls the BeforeChange hook of the plugin owning ch.URI,
// when ch.URI lies below a plugin root.
func (t *Tree) beforeChange(tx *Tx, ch Change) error {
	if m := t.mountOf(ch.URI); m != nil && len(ch.URI.segments) > 1 {
		return m.plugin.BeforeChange(tx, ch)
	}
	return nil
}

// afterChange calls the optional AfterChange hook likewise.
func (t *Tree) afterChange(tx *Tx, ch Change) error {
	if m := t.mountOf(ch.URI); m != nil && len(ch.URI.segments) > 1 {
		if ac, ok := m.plugin.(AfterChanger); ok {
			return ac.AfterChange(tx, ch)
		}
	}
	return nil
}

func (t *Tree) addItem(s Session, tx *Tx, item syncml.Item, cmdMeta *syncml.Meta) error {
	u, err := nodeTarget(item, syncml.CmdAdd)
	if err != nil {
		return err
	}
	meta := itemMeta(item, cmdMeta)
	switch meta.Type {
	case TypeTNDSXML:
		return t.addTNDS(s, tx, u, item.Data)
	case TypeTNDSWBXML:
		return Errorf(415, "WBXML TNDS data is not supported, send %s", TypeTNDSXML)
	}
	format, value, err := decodeData(meta, item.Data)
	if err != nil {
		return err
	}
	typ := meta.Type
	if def := t.matchDef(u); typ == "" && def != nil {
		typ = def.Type
	}
	return t.addNode(s, tx, u, format, typ, value)
}

// addNode applies a server's Add of the node at u, creating missing
// interior parents. The checks run in this order. A node that exists gives
// 418, and a leaf as the nearest existing ancestor 404. Without Add on that
// ancestor the status is 425. Inside a plugin, a node without a definition,
// without Add access, permanent or over its Occurrence gives 405. Last, a
// format mismatch gives 415.
func (t *Tree) addNode(s Session, tx *Tx, u URI, format Format, typ string, value []byte) error {
	if u.IsRoot() || tx.lookup(u) != nil {
		return Errorf(418, "node %s already exists", u)
	}
	var missing []URI
	anc := u.Parent()
	for tx.lookup(anc) == nil {
		missing = append([]URI{anc}, missing...)
		anc = anc.Parent()
	}
	if !tx.lookup(anc).interior() {
		return Errorf(404, "parent %s of %s is a leaf", anc, u)
	}
	if err := checkACL(tx, s, anc, ACLAdd); err != nil {
		return err
	}
	for _, p := range missing {
		if err := t.checkAddDef(tx, p, FormatNode); err != nil {
			return err
		}
	}
	if err := t.checkAddDef(tx, u, format); err != nil {
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

	for i, p := range missing {
		next := u.Name()
		if i+1 < len(missing) {
			next = missing[i+1].Name()
		}
		if err := t.addOne(s, tx, p, &node{format: FormatNode}, next); err != nil {
			return err
		}
	}
	return t.addOne(s, tx, u, &node{format: format, typ: typ, value: value}, "")
}

// checkAddDef checks the definition of a node a server is about to add
// with the given format.
func (t *Tree) checkAddDef(tx *Tx, u URI, format Format) error {
	if t.mountOf(u) == nil {
		return nil
	}
	def := t.matchDef(u)
	switch {
	case def == nil:
		return Errorf(405, "no node definition allows %s", u)
	case t.permanent(u, def):
		return Errorf(405, "node %s is permanent and cannot be added", u)
	}
	if err := checkAccess(u, def, AccessAdd, syncml.CmdAdd); err != nil {
		return err
	}
	if defFormat(def) != format {
		return Errorf(415, "node %s has format %s, got %s", u, defFormat(def), format)
	}
	single := def.Occurrence == OccurrenceOne || def.Occurrence == OccurrenceZeroOrOne
	if parent := tx.lookup(u.Parent()); def.Name == "" && single && parent != nil {
		for _, name := range sortedNames(parent) {
			if t.matchDef(u.Parent().Child(name)) == def {
				return Errorf(405, "%s allows one node of this kind, %s exists", u.Parent(), name)
			}
		}
	}
	return nil
}

// addOne adds one node after the BeforeChange hook, then the children its
// definition requires (but not the child called skip), then runs the
// AfterChange hook. An interior node added by a server without Replace on
// the parent gets an ACL granting that server Add, Delete and Replace.
func (t *Tree) addOne(s Session, tx *Tx, u URI, n *node, skip string) error {
	n.def = t.matchDef(u)
	if n.typ == "" && n.def != nil {
		n.typ = n.def.Type
	}
	if n.interior() && checkACL(tx, s, u.Parent(), ACLReplace) != nil {
		n.acl = creatorACL(s.ServerID)
	}
	ch := Change{Op: OpAdd, ServerID: s.ServerID, URI: u, New: copyNode(u, n)}
	if err := t.beforeChange(tx, ch); err != nil {
		return err
	}
	if err := tx.put(u, n); err != nil {
		return err
	}
	if n.def != nil && n.interior() {
		if err := t.addRequired(tx, u, n.def, skip); err != nil {
			return err
		}
	}
	ch.New = copyNode(u, tx.lookup(u))
	return t.afterChange(tx, ch)
}

func (t *Tree) replaceItem(s Session, tx *Tx, item syncml.Item, cmdMeta *syncml.Meta) error {
	tgt, err := itemTarget(item)
	if err != nil {
		return err
	}
	meta := itemMeta(item, cmdMeta)
	switch {
	case tgt.List != "":
		return Errorf(405, "Replace is not allowed on %s", item.Target.LocURI)
	case tgt.Prop != "":
		return t.replaceProp(s, tx, tgt, meta, item.Data)
	case meta.Type == TypeTNDSXML:
		return t.replaceTNDS(s, tx, tgt.URI, item.Data)
	case meta.Type == TypeTNDSWBXML:
		return Errorf(415, "WBXML TNDS data is not supported, send %s", TypeTNDSXML)
	}
	format, value, err := decodeData(meta, item.Data)
	if err != nil {
		return err
	}
	return t.replaceValue(s, tx, tgt.URI, format, value)
}

// replaceValue applies a server's Replace of the leaf value at u. A missing
// node gives 404, since Replace never creates. Without Replace on the node
// the status is 425. An interior node, or a definition without Replace
// access, gives 405. A format other than the node's, or a value that does
// not fit it, gives 415.
func (t *Tree) replaceValue(s Session, tx *Tx, u URI, format Format, value []byte) error {
	n := tx.lookup(u)
	if n == nil {
		return Errorf(404, "node %s not found", u)
	}
	if err := checkACL(tx, s, u, ACLReplace); err != nil {
		return err
	}
	if n.interior() {
		return Errorf(405, "node %s is interior and has no value to replace", u)
	}
	if err := checkAccess(u, n.def, AccessReplace, syncml.CmdReplace); err != nil {
		return err
	}
	if format != n.format {
		return Errorf(415, "node %s has format %s, got %s", u, n.format, format)
	}
	if err := checkValue(format, value); err != nil {
		return err
	}

	ch := Change{Op: OpReplace, ServerID: s.ServerID, URI: u, Old: copyNode(u, n)}
	ch.New = copyNode(u, n)
	ch.New.Value = value
	if err := t.beforeChange(tx, ch); err != nil {
		return err
	}
	if tx.lookup(u) == nil {
		return Errorf(404, "node %s was deleted by its plugin", u)
	}
	tx.modify(u, func(n *node) { n.value = value })
	return t.afterChange(tx, ch)
}

func (t *Tree) deleteItem(s Session, tx *Tx, item syncml.Item) error {
	u, err := nodeTarget(item, syncml.CmdDelete)
	if err != nil {
		return err
	}
	return t.deleteNode(s, tx, u)
}

// deleteNode applies a server's Delete of the node at u and its subtree:
// 405 for the root and permanent nodes, 404 if it is missing, 425 without
// Delete on it, 405 if its definition has no Delete access.
func (t *Tree) deleteNode(s Session, tx *Tx, u URI) error {
	if u.IsRoot() {
		return Errorf(405, "the root node cannot be deleted")
	}
	n := tx.lookup(u)
	if n == nil {
		return Errorf(404, "node %s not found", u)
	}
	if err := checkACL(tx, s, u, ACLDelete); err != nil {
		return err
	}
	if t.permanent(u, n.def) {
		return Errorf(405, "node %s is permanent", u)
	}
	if err := checkAccess(u, n.def, AccessDelete, syncml.CmdDelete); err != nil {
		return err
	}

	ch := Change{Op: OpDelete, ServerID: s.ServerID, URI: u, Old: copyNode(u, n)}
	if err := t.beforeChange(tx, ch); err != nil {
		return err
	}
	if tx.lookup(u) != nil {
		tx.remove(u)
	}
	return t.afterChange(tx, ch)
}

// copyItem copies the leaf at the item's Source to its Target: Get on the
// source, then Replace on an existing target or Add of a new one, with the
// source's format, Type and value.
func (t *Tree) copyItem(s Session, tx *Tx, item syncml.Item) error {
	if item.Source == nil || item.Source.LocURI == "" {
		return Errorf(412, "Copy item has no Source LocURI")
	}
	srcTarget, err := ParseTarget(item.Source.LocURI)
	if err != nil {
		return err
	}
	if srcTarget.Prop != "" || srcTarget.List != "" {
		return Errorf(405, "Copy is not allowed from %s", item.Source.LocURI)
	}
	dst, err := nodeTarget(item, syncml.CmdCopy)
	if err != nil {
		return err
	}

	src := srcTarget.URI
	n := tx.lookup(src)
	if n == nil {
		return Errorf(404, "copy source %s not found", src)
	}
	if err := checkACL(tx, s, src, ACLGet); err != nil {
		return err
	}
	if err := checkAccess(src, n.def, AccessGet, syncml.CmdGet); err != nil {
		return err
	}
	if n.interior() {
		return Errorf(405, "copy source %s is interior, only leaves can be copied", src)
	}
	if d := tx.lookup(dst); d != nil {
		if d.interior() {
			return Errorf(405, "copy target %s is interior", dst)
		}
		return t.replaceValue(s, tx, dst, n.format, n.value)
	}
	return t.addNode(s, tx, dst, n.format, n.typ, n.value)
}

// execItem routes an Exec to the plugin that owns its target node and
// returns the plugin's status, which must be 200, 202 or an error status
// (anything else is taken as 500).
func (t *Tree) execItem(
	ctx context.Context, s Session, tx *Tx, item syncml.Item, correlator string,
) (int, error) {
	u, err := nodeTarget(item, syncml.CmdExec)
	if err != nil {
		return 0, err
	}
	n := tx.lookup(u)
	if n == nil {
		return 0, Errorf(404, "node %s not found", u)
	}
	if err := checkACL(tx, s, u, ACLExec); err != nil {
		return 0, err
	}
	m := t.mountOf(u)
	if m == nil || n.def == nil {
		return 0, Errorf(405, "node %s has no Exec behaviour", u)
	}
	if err := checkAccess(u, n.def, AccessExec, syncml.CmdExec); err != nil {
		return 0, err
	}

	req := ExecRequest{ServerID: s.ServerID, URI: u, Correlator: correlator}
	if item.Data != nil {
		req.Data = item.Data.Value
	}
	code := m.plugin.Exec(ctx, tx, req)
	switch {
	case code == syncml.StatusOK || code == syncml.StatusAccepted:
		return code, nil
	case code >= 300 && code < 600:
		return 0, Errorf(code, "plugin %s rejected Exec of %s", m.def.Name, u)
	default:
		return 0, Errorf(500, "plugin %s returned status %d for Exec of %s", m.def.Name, code, u)
	}
}
