package dmtree

import (
	"bytes"

	"github.com/virmo/virmo/syncml"
)

// decodeTNDSData decodes the TNDS document of an Add or Replace item and
// returns its top-level nodes with the URI of each.
func decodeTNDSData(target URI, data *syncml.Data) ([]URI, []*TNDSNode, error) {
	if data == nil || data.Value == "" {
		return nil, nil, Errorf(412, "TNDS item for %s has no Data", target)
	}
	nodes, err := DecodeTNDS([]byte(data.Value))
	if err != nil {
		return nil, nil, err
	}
	if len(nodes) == 0 {
		return nil, nil, Errorf(400, "TNDS document for %s has no Node", target)
	}
	uris := make([]URI, 0, len(nodes))
	for _, n := range nodes {
		parent := target
		if n.Path != "" {
			// DecodeTNDS checked the Path.
			parent, _ = ParseURI(n.Path)
		}
		uris = append(uris, parent.Child(n.Name))
	}
	return uris, nodes, nil
}

// addTNDS applies a server's Add of a TNDS document below target (or below
// a top-level node's Path). Every node is added as a server Add of it would
// be, with the same checks and statuses, parents before children. A node
// that a parent's Add already created as a required child is not an error:
// it keeps its place and gets the document's value through the checks of a
// server Replace when the value differs. The caller rolls everything back
// when an error is returned.
func (t *Tree) addTNDS(s Session, tx *Tx, target URI, data *syncml.Data) error {
	uris, nodes, err := decodeTNDSData(target, data)
	if err != nil {
		return err
	}
	before := tx.root
	for i, n := range nodes {
		if err := t.addTNDSNode(s, tx, before, uris[i], n); err != nil {
			return err
		}
	}
	return nil
}

// tndsFormat returns the format of a TNDS node: its Format property, else
// the format of the definition matching u, else node for a node without a
// Value and chr for one with.
func (t *Tree) tndsFormat(u URI, n *TNDSNode) Format {
	switch {
	case n.Props.Format != "":
		return n.Props.Format
	case t.matchDef(u) != nil:
		return defFormat(t.matchDef(u))
	case n.Value == nil:
		return FormatNode
	default:
		return FormatChr
	}
}

func (t *Tree) addTNDSNode(s Session, tx *Tx, before *node, u URI, n *TNDSNode) error {
	format := t.tndsFormat(u, n)
	if format != FormatNode && len(n.Children) > 0 {
		return Errorf(415, "TNDS node %s has format %s and children", u, format)
	}
	if format == FormatNode && n.Value != nil {
		return Errorf(415, "interior node %s cannot have a value", u)
	}

	existing := tx.lookup(u)
	switch {
	case existing == nil:
		if err := t.addNode(s, tx, u, format, n.Props.Type, n.Value); err != nil {
			return err
		}
	case lookupFrom(before, u) != nil:
		return Errorf(418, "node %s already exists", u)
	case existing.format != format:
		return Errorf(415, "node %s has format %s, got %s", u, existing.format, format)
	case format != FormatNode && n.Value != nil && !bytes.Equal(existing.value, n.Value):
		if err := t.replaceValue(s, tx, u, format, n.Value); err != nil {
			return err
		}
	}

	for _, c := range n.Children {
		if err := t.addTNDSNode(s, tx, before, u.Child(c.Name), c); err != nil {
			return err
		}
	}
	return t.applyTNDSProps(s, tx, u, n)
}

// applyTNDSProps applies the ACL and Title of a TNDS node when they differ
// from the node's, as server Replaces of those properties. The other
// run-time properties are read-only and are ignored.
func (t *Tree) applyTNDSProps(s Session, tx *Tx, u URI, n *TNDSNode) error {
	cur := tx.lookup(u)
	if n.Props.ACL != nil && *n.Props.ACL != cur.acl {
		tgt := Target{URI: u, Prop: PropACL}
		err := t.replaceProp(s, tx, tgt, &syncml.Meta{}, syncml.NewData(*n.Props.ACL))
		if err != nil {
			return err
		}
	}
	if n.Props.Title != "" && n.Props.Title != tx.lookup(u).title {
		tgt := Target{URI: u, Prop: PropTitle}
		return t.replaceProp(s, tx, tgt, &syncml.Meta{}, syncml.NewData(n.Props.Title))
	}
	return nil
}

// replaceTNDS applies a server's Replace of a TNDS document: each
// top-level node must exist (404), and its subtree is made equal to the
// document. Changed leaf values go through the checks of a server Replace
// (a node without a Value in the document keeps its value), children
// missing from the document are deleted as by a server Delete, and nodes
// new in the document are added as by a server Add. Children the server
// may not Get are not compared and stay, because a document the server
// built from a TNDS Get cannot list them.
func (t *Tree) replaceTNDS(s Session, tx *Tx, target URI, data *syncml.Data) error {
	uris, nodes, err := decodeTNDSData(target, data)
	if err != nil {
		return err
	}
	before := tx.root
	for i, n := range nodes {
		if tx.lookup(uris[i]) == nil {
			return Errorf(404, "node %s not found", uris[i])
		}
		if err := t.replaceTNDSNode(s, tx, before, uris[i], n); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tree) replaceTNDSNode(s Session, tx *Tx, before *node, u URI, n *TNDSNode) error {
	cur := tx.lookup(u)
	if n.Props.Format != "" && n.Props.Format != cur.format {
		return Errorf(415, "node %s has format %s, got %s", u, cur.format, n.Props.Format)
	}
	if !cur.interior() {
		if len(n.Children) > 0 {
			return Errorf(415, "leaf %s cannot have children", u)
		}
		if n.Value != nil && !bytes.Equal(cur.value, n.Value) {
			if err := t.replaceValue(s, tx, u, cur.format, n.Value); err != nil {
				return err
			}
		}
		return t.applyTNDSProps(s, tx, u, n)
	}
	if n.Value != nil {
		return Errorf(415, "interior node %s cannot have a value", u)
	}

	listed := make(map[string]bool, len(n.Children))
	for _, c := range n.Children {
		listed[c.Name] = true
	}
	for _, name := range sortedNames(cur) {
		cu := u.Child(name)
		c := tx.lookup(cu)
		if listed[name] || c == nil || !readable(tx, s, cu, c) {
			continue
		}
		if err := t.deleteNode(s, tx, cu); err != nil {
			return err
		}
	}

	for _, c := range n.Children {
		cu := u.Child(c.Name)
		var err error
		if tx.lookup(cu) != nil {
			err = t.replaceTNDSNode(s, tx, before, cu, c)
		} else {
			err = t.addTNDSNode(s, tx, before, cu, c)
		}
		if err != nil {
			return err
		}
	}
	return t.applyTNDSProps(s, tx, u, n)
}

// lookupFrom returns the node at u below root, or nil.
func lookupFrom(root *node, u URI) *node {
	n := root
	for _, seg := range u.segments {
		n = n.children[seg]
		if n == nil {
			return nil
		}
	}
	return n
}
