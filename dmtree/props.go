package dmtree

import (
	"strconv"
	"time"

	"github.com/virmo/virmo/syncml"
)

// Node property names, as a "?prop=" target spells them.
const (
	PropACL    = "ACL"
	PropFormat = "Format"
	PropName   = "Name"
	PropSize   = "Size"
	PropTitle  = "Title"
	PropTStamp = "TStamp"
	PropType   = "Type"
	PropVerNo  = "VerNo"
)

// MaxTitleLen is the maximum length of the Title property in bytes.
const MaxTitleLen = 255

// getItem reads one Get target: 404 if the node is missing, 425 without
// Get on it, 405 if its definition has no Get access. Properties need the
// Get right but not the Get access type. A "?list=" target goes to getList.
func (t *Tree) getItem(s Session, tx *Tx, item syncml.Item) ([]syncml.Item, error) {
	tgt, err := itemTarget(item)
	if err != nil {
		return nil, err
	}
	if tgt.List != "" {
		return t.getList(s, tx, item.Target.LocURI, tgt)
	}
	result, err := t.getNode(s, tx, item, tgt)
	if err != nil {
		return nil, err
	}
	return []syncml.Item{result}, nil
}

func (t *Tree) getNode(s Session, tx *Tx, item syncml.Item, tgt Target) (syncml.Item, error) {
	u := tgt.URI
	n := tx.lookup(u)
	if n == nil {
		return syncml.Item{}, Errorf(404, "node %s not found", u)
	}
	if err := checkACL(tx, s, u, ACLGet); err != nil {
		return syncml.Item{}, err
	}
	if tgt.Prop != "" {
		value, err := propValue(u, n, tgt.Prop)
		if err != nil {
			return syncml.Item{}, err
		}
		return syncml.Item{
			Source: &syncml.Locator{LocURI: item.Target.LocURI},
			Meta:   &syncml.Meta{Format: string(FormatChr)},
			Data:   syncml.NewData(value),
		}, nil
	}
	if err := checkAccess(u, n.def, AccessGet, syncml.CmdGet); err != nil {
		return syncml.Item{}, err
	}
	return valueItem(item.Target.LocURI, n), nil
}

// propValue returns a property of the node n at u. An empty ACL reads as
// empty, not as the inherited ACL. Size is the raw value length of a leaf
// and 406 for an interior node; TStamp is ISO 8601 basic UTC. An unknown
// property gives 406.
func propValue(u URI, n *node, prop string) (string, error) {
	switch prop {
	case PropACL:
		return n.acl, nil
	case PropFormat:
		return string(n.format), nil
	case PropName:
		return u.Name(), nil
	case PropSize:
		if n.interior() {
			return "", Errorf(406, "interior node %s has no Size", u)
		}
		return strconv.Itoa(len(n.value)), nil
	case PropTitle:
		return n.title, nil
	case PropTStamp:
		if n.tstamp == 0 {
			return "", nil
		}
		return time.Unix(n.tstamp, 0).UTC().Format(tstampLayout), nil
	case PropType:
		return n.typ, nil
	case PropVerNo:
		return strconv.Itoa(int(n.verno)), nil
	default:
		return "", Errorf(406, "property %q is not supported", prop)
	}
}

// replaceProp applies a server's Replace of a property. ACL, Title and Name
// can be replaced; Format, Size, TStamp, Type and VerNo are read-only (405)
// and other names unknown (406). The value must be chr (415).
func (t *Tree) replaceProp(
	s Session, tx *Tx, tgt Target, meta *syncml.Meta, data *syncml.Data,
) error {
	u := tgt.URI
	n := tx.lookup(u)
	if n == nil {
		return Errorf(404, "node %s not found", u)
	}
	if meta.Format != "" && meta.Format != string(FormatChr) {
		return Errorf(415, "property %s takes chr, got %s", tgt.Prop, meta.Format)
	}
	var value string
	if data != nil {
		value = data.Value
	}

	switch tgt.Prop {
	case PropACL:
		return t.replaceACL(s, tx, u, n, value)
	case PropTitle:
		if err := checkACL(tx, s, u, ACLReplace); err != nil {
			return err
		}
		if len(value) > MaxTitleLen {
			return Errorf(413, "title of %d bytes is over the limit of %d", len(value), MaxTitleLen)
		}
		return t.changeProp(s, tx, u, func(n *node) { n.title = value })
	case PropName:
		return t.rename(s, tx, u, n, value)
	case PropFormat, PropSize, PropTStamp, PropType, PropVerNo:
		return Errorf(405, "property %s is read-only", tgt.Prop)
	default:
		return Errorf(406, "property %q is not supported", tgt.Prop)
	}
}

// replaceACL sets the ACL of the node at u. For an interior node the right
// is Replace on the node itself, since its ACL governs its own ACL; for a
// leaf it is Replace on the parent. Replace on the parent is also enough
// for an interior node, so a server can take over a child in two steps.
func (t *Tree) replaceACL(s Session, tx *Tx, u URI, n *node, value string) error {
	if _, err := ParseACL(value); err != nil {
		return err
	}
	if u.IsRoot() && value == "" {
		return Errorf(400, "the root ACL cannot be empty")
	}

	var err error
	switch {
	case u.IsRoot():
		err = checkACL(tx, s, u, ACLReplace)
	case n.interior():
		if err = checkACL(tx, s, u, ACLReplace); err != nil {
			err = checkACL(tx, s, u.Parent(), ACLReplace)
		}
	default:
		err = checkACL(tx, s, u.Parent(), ACLReplace)
	}
	if err != nil {
		return err
	}
	return t.changeProp(s, tx, u, func(n *node) { n.acl = value })
}

// changeProp applies fn to the node at u. Below a plugin root the change
// goes through BeforeChange and AfterChange as an OpReplace whose Old and
// New differ in the property, so the plugin can veto it.
func (t *Tree) changeProp(s Session, tx *Tx, u URI, fn func(n *node)) error {
	n := tx.lookup(u)
	ch := Change{Op: OpReplace, ServerID: s.ServerID, URI: u, Old: copyNode(u, n)}
	changed := *n
	fn(&changed)
	ch.New = copyNode(u, &changed)
	if err := t.beforeChange(tx, ch); err != nil {
		return err
	}
	if tx.lookup(u) == nil {
		return Errorf(404, "node %s was deleted by its plugin", u)
	}
	tx.modify(u, fn)
	return t.afterChange(tx, ch)
}

// rename gives the node at u a new name. Nodes inside plugins cannot be
// renamed, since plugins identify nodes by name, and neither can the root
// or permanent nodes (405). The name must be a valid segment (400) that no
// sibling has (418).
func (t *Tree) rename(s Session, tx *Tx, u URI, n *node, name string) error {
	if u.IsRoot() || t.permanent(u, n.def) || t.mountOf(u) != nil {
		return Errorf(405, "node %s cannot be renamed", u)
	}
	if err := checkACL(tx, s, u, ACLReplace); err != nil {
		return err
	}
	if err := checkSegment(name); err != nil {
		return Errorf(400, "invalid node name %q: %v", name, err)
	}
	if name == u.Name() {
		return nil
	}
	if tx.lookup(u.Parent().Child(name)) != nil {
		return Errorf(418, "node %s already exists", u.Parent().Child(name))
	}
	if _, err := ParseURI(u.Parent().Child(name).String()); err != nil {
		return err
	}
	tx.rename(u, name)
	return nil
}
