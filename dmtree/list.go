package dmtree

import (
	"strconv"
	"strings"
	"time"

	"github.com/virmo/virmo/syncml"
)

// List values of a "?list=" Get target. ListTNDS may be followed by a
// property list such as "+ACL+Format" or "-Value".
const (
	ListStruct     = "Struct"
	ListStructData = "StructData"
	ListTNDS       = "TNDS"
)

// PropValue names the leaf value in a TNDS property list.
const PropValue = "Value"

// tndsProps lists every name a TNDS property list may hold. Name is
// accepted but changes nothing, because NodeName always carries it.
var tndsProps = []string{
	PropACL, PropFormat, PropName, PropSize, PropTitle, PropTStamp, PropType, PropVerNo, PropValue,
}

// parseTNDSList returns the properties a "?list=TNDS..." value selects:
// every property and the value for plain TNDS, only the named ones after
// "+", all but the named ones after "-". Mixing "+" and "-", an empty or
// unknown name gives 406.
func parseTNDSList(list string) (map[string]bool, error) {
	rest := strings.TrimPrefix(list, ListTNDS)
	sel := make(map[string]bool, len(tndsProps))
	if rest == "" {
		for _, p := range tndsProps {
			sel[p] = true
		}
		return sel, nil
	}

	sign := rest[0]
	if sign != '+' && sign != '-' {
		return nil, Errorf(406, "?list=%s is not supported", list)
	}
	names := strings.Split(rest[1:], string(sign))
	if sign == '-' {
		for _, p := range tndsProps {
			sel[p] = true
		}
	}
	for _, name := range names {
		known := false
		for _, p := range tndsProps {
			known = known || p == name
		}
		if !known {
			return nil, Errorf(406, "?list=%s: property %q is not supported in a TNDS list", list, name)
		}
		sel[name] = sign == '+'
	}
	return sel, nil
}

// getList answers a Get of "URI?list=...". The target itself needs Get as
// a plain Get does (404, 425, 405). Below it, a node the server may not
// Get, by ACL or by access type, is left out together with its subtree.
// Struct returns one item per node with Meta Format and Type and no Data;
// StructData adds the Data of leaves; TNDS returns one item holding a TNDS
// document. Other list values give 406.
func (t *Tree) getList(s Session, tx *Tx, locURI string, tgt Target) ([]syncml.Item, error) {
	var sel map[string]bool
	switch {
	case tgt.List == ListStruct || tgt.List == ListStructData:
	case strings.HasPrefix(tgt.List, ListTNDS):
		var err error
		if sel, err = parseTNDSList(tgt.List); err != nil {
			return nil, err
		}
	default:
		return nil, Errorf(406, "?list=%s is not supported", tgt.List)
	}

	u := tgt.URI
	n := tx.lookup(u)
	if n == nil {
		return nil, Errorf(404, "node %s not found", u)
	}
	if err := checkACL(tx, s, u, ACLGet); err != nil {
		return nil, err
	}
	if err := checkAccess(u, n.def, AccessGet, syncml.CmdGet); err != nil {
		return nil, err
	}

	if sel == nil {
		base, _, _ := strings.Cut(locURI, "?")
		return t.structItems(s, tx, u, n, base, tgt.List == ListStructData, nil), nil
	}
	return t.tndsItem(s, tx, u, n, locURI, sel)
}

// readable reports whether the server may Get the node n at u: the ACL
// grants Get and the definition, if any, has the Get access type.
func readable(tx *Tx, s Session, u URI, n *node) bool {
	return checkACL(tx, s, u, ACLGet) == nil && checkAccess(u, n.def, AccessGet, "") == nil
}

// structItems appends the items of n at u and of its readable descendants
// in pre-order, children sorted by name. locURI is the URI as the server
// wrote it, so the items name nodes in the server's own spelling.
func (t *Tree) structItems(
	s Session, tx *Tx, u URI, n *node, locURI string, data bool, out []syncml.Item,
) []syncml.Item {
	item := syncml.Item{Source: &syncml.Locator{LocURI: locURI}}
	switch {
	case n.interior():
		item.Meta = &syncml.Meta{Format: string(FormatNode), Type: n.typ}
	case data:
		item = valueItem(locURI, n)
	default:
		item.Meta = &syncml.Meta{Format: string(n.format), Type: n.typ}
		if n.format == FormatBin {
			item.Meta.Format = string(FormatB64)
		}
	}
	out = append(out, item)

	for _, name := range sortedNames(n) {
		cu, c := u.Child(name), n.children[name]
		if readable(tx, s, cu, c) {
			out = t.structItems(s, tx, cu, c, childLocURI(locURI, name), data, out)
		}
	}
	return out
}

// childLocURI returns the LocURI of the child called name of the node the
// server spelled parent.
func childLocURI(parent, name string) string {
	parent = strings.TrimSuffix(parent, "/")
	if parent == "" || parent == "." {
		return "./" + name
	}
	return parent + "/" + name
}

// tndsItem returns the Results item of a "?list=TNDS" Get: the node at u
// as the top-level Node, with Path set to its parent, or the root's
// readable children with Path "." when u is the root.
func (t *Tree) tndsItem(
	s Session, tx *Tx, u URI, n *node, locURI string, sel map[string]bool,
) ([]syncml.Item, error) {
	var nodes []*TNDSNode
	if u.IsRoot() {
		for _, name := range sortedNames(n) {
			cu, c := u.Child(name), n.children[name]
			if readable(tx, s, cu, c) {
				top := tndsNode(tx, s, cu, c, sel)
				top.Path = "."
				nodes = append(nodes, top)
			}
		}
	} else {
		top := tndsNode(tx, s, u, n, sel)
		top.Path = "./" + u.Parent().String()
		if u.Parent().IsRoot() {
			top.Path = "."
		}
		nodes = append(nodes, top)
	}

	doc, err := EncodeTNDS(nodes)
	if err != nil {
		return nil, Errorf(500, "%v", err)
	}
	return []syncml.Item{{
		Source: &syncml.Locator{LocURI: locURI},
		Meta:   &syncml.Meta{Format: string(FormatXML), Type: TypeTNDSXML},
		Data:   &syncml.Data{Value: string(doc), XML: true},
	}}, nil
}

// tndsNode converts n at u and its readable descendants to TNDS nodes with
// the selected properties.
func tndsNode(tx *Tx, s Session, u URI, n *node, sel map[string]bool) *TNDSNode {
	out := &TNDSNode{Name: u.Name()}
	if sel[PropACL] {
		acl := n.acl
		out.Props.ACL = &acl
	}
	// A bin value cannot be read back without its format, so it always
	// comes with it.
	if sel[PropFormat] || sel[PropValue] && n.format == FormatBin {
		out.Props.Format = n.format
	}
	if sel[PropSize] && !n.interior() {
		out.Props.Size = strconv.Itoa(len(n.value))
	}
	if sel[PropTitle] {
		out.Props.Title = n.title
	}
	if sel[PropTStamp] && n.tstamp != 0 {
		out.Props.TStamp = time.Unix(n.tstamp, 0).UTC().Format(tstampLayout)
	}
	if sel[PropType] {
		out.Props.Type = n.typ
		out.Props.TypeDDFName = n.interior()
	}
	if sel[PropVerNo] {
		out.Props.VerNo = strconv.Itoa(int(n.verno))
	}
	if sel[PropValue] && !n.interior() {
		out.Value = append([]byte{}, n.value...)
	}

	for _, name := range sortedNames(n) {
		cu, c := u.Child(name), n.children[name]
		if readable(tx, s, cu, c) {
			out.Children = append(out.Children, tndsNode(tx, s, cu, c, sel))
		}
	}
	return out
}
