package dmtree

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// snapshotVersion is the version of the snapshot encoding Persist receives.
const snapshotVersion = 1

// Snapshot encoding: JSON, children sorted by name, so one tree always
// encodes to the same bytes. Values are base64 (encoding/json's []byte).
type snapshotDoc struct {
	Version int       `json:"version"`
	Root    *snapNode `json:"root"`
}

type snapNode struct {
	Name     string      `json:"name,omitempty"`
	Format   Format      `json:"format"`
	Type     string      `json:"type,omitempty"`
	Value    []byte      `json:"value,omitempty"`
	ACL      string      `json:"acl,omitempty"`
	Title    string      `json:"title,omitempty"`
	TStamp   int64       `json:"tstamp,omitempty"`
	VerNo    uint16      `json:"verno,omitempty"`
	Children []*snapNode `json:"children,omitempty"`
}

func encodeSnapshot(root *node) ([]byte, error) {
	return json.Marshal(snapshotDoc{Version: snapshotVersion, Root: toSnap("", root)})
}

func toSnap(name string, n *node) *snapNode {
	s := &snapNode{
		Name:   name,
		Format: n.format,
		Type:   n.typ,
		Value:  n.value,
		ACL:    n.acl,
		Title:  n.title,
		TStamp: n.tstamp,
		VerNo:  n.verno,
	}
	for _, c := range sortedNames(n) {
		s.Children = append(s.Children, toSnap(c, n.children[c]))
	}
	return s
}

// Load replaces the tree's nodes with a snapshot from Persist. Call it after
// Mount, before serving commands. It rejects a snapshot that is not valid
// JSON of the current version, or that holds an invalid node name, a
// duplicate name, an unknown format, a leaf with children, an interior
// node with a value, an invalid ACL or an empty root ACL; the tree is then
// unchanged. Permanent nodes of mounted plugins missing from the snapshot
// are created again. Load persists nothing.
func (t *Tree) Load(snapshot []byte) error {
	var doc snapshotDoc
	dec := json.NewDecoder(bytes.NewReader(snapshot))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("load tree snapshot: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("load tree snapshot: data after the JSON document")
	}
	if doc.Version != snapshotVersion {
		return fmt.Errorf("load tree snapshot: version %d, expected %d", doc.Version, snapshotVersion)
	}
	if doc.Root == nil {
		return fmt.Errorf("load tree snapshot: no root node")
	}
	if doc.Root.Name != "" || doc.Root.Format != FormatNode || doc.Root.ACL == "" {
		return fmt.Errorf("load tree snapshot: the root must be an unnamed interior node with an ACL")
	}
	root, err := fromSnap(doc.Root, ".")
	if err != nil {
		return fmt.Errorf("load tree snapshot: %w", err)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	tx := t.begin(false)
	defer tx.close()
	tx.root = root
	t.bindDefs(tx, URI{})
	for _, name := range slices.Sorted(maps.Keys(t.mounts)) {
		if err := t.mountNodes(tx, name); err != nil {
			return fmt.Errorf("load tree snapshot: %w", err)
		}
	}
	t.root = tx.root
	return nil
}

// fromSnap checks a decoded node and builds the node it describes; path
// names it in errors.
func fromSnap(s *snapNode, path string) (*node, error) {
	if s == nil {
		return nil, fmt.Errorf("node %s: null child", path)
	}
	switch s.Format {
	case FormatNode, FormatChr, FormatInt, FormatBool, FormatBin,
		FormatNull, FormatXML, FormatDate, FormatTime, FormatFloat:
	default:
		return nil, fmt.Errorf("node %s: unknown format %q", path, s.Format)
	}
	if _, err := ParseACL(s.ACL); err != nil {
		return nil, fmt.Errorf("node %s: %w", path, err)
	}
	n := &node{
		format: s.Format,
		typ:    s.Type,
		acl:    s.ACL,
		title:  s.Title,
		tstamp: s.TStamp,
		verno:  s.VerNo,
	}
	if !n.interior() {
		if len(s.Children) > 0 {
			return nil, fmt.Errorf("node %s: leaf with children", path)
		}
		n.value = s.Value
		if n.value == nil {
			n.value = []byte{}
		}
		return n, nil
	}

	if len(s.Value) > 0 {
		return nil, fmt.Errorf("node %s: interior node with a value", path)
	}
	n.children = make(map[string]*node, len(s.Children))
	for _, c := range s.Children {
		if c == nil {
			return nil, fmt.Errorf("node %s: null child", path)
		}
		if err := checkSegment(c.Name); err != nil {
			return nil, fmt.Errorf("node %s: invalid child name: %w", path, err)
		}
		if n.children[c.Name] != nil {
			return nil, fmt.Errorf("node %s: child %q listed twice", path, c.Name)
		}
		child, err := fromSnap(c, joinPath(path, c.Name))
		if err != nil {
			return nil, err
		}
		n.children[c.Name] = child
	}
	return n, nil
}

func joinPath(path, name string) string {
	if path == "." {
		return name
	}
	return path + "/" + name
}
