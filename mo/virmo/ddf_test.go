package virmo

import (
	"testing"

	"github.com/virmo/virmo/dmtree"
)

// defsByPath flattens a definition into paths below its root ("<x>" for
// runtime-named nodes).
func defsByPath(def *dmtree.NodeDef, prefix string, out map[string]*dmtree.NodeDef) {
	for _, c := range def.Children {
		name := c.Name
		if name == "" {
			name = "<x>"
		}
		p := name
		if prefix != "" {
			p = prefix + "/" + name
		}
		out[p] = c
		defsByPath(c, p, out)
	}
}

func TestDefinitionMatchesDesignTable(t *testing.T) {
	const (
		get  = dmtree.AccessGet
		rep  = dmtree.AccessReplace
		add  = dmtree.AccessAdd
		del  = dmtree.AccessDelete
		exec = dmtree.AccessExec
	)
	one, zeroOrOne := dmtree.OccurrenceOne, dmtree.OccurrenceZeroOrOne
	tests := []struct {
		path   string
		format dmtree.Format
		occ    dmtree.Occurrence
		access dmtree.AccessType
	}{
		{"<x>", "node", dmtree.OccurrenceZeroOrMore, get | add | del},
		{"<x>/VMID", "chr", one, get},
		{"<x>/Name", "chr", zeroOrOne, get | rep},
		{"<x>/Description", "chr", zeroOrOne, get | rep},
		{"<x>/State", "int", one, get},
		{"<x>/Config/VCPUs", "int", one, get | rep},
		{"<x>/Config/MemoryMiB", "int", one, get | rep},
		{"<x>/Config/Image", "chr", zeroOrOne, get | rep},
		{"<x>/Config/AutoStart", "bool", one, get | rep},
		{"<x>/Operations/Start", "null", one, exec},
		{"<x>/Operations/Stop", "null", one, exec},
		{"<x>/Operations/Pause", "null", one, exec},
		{"<x>/Operations/Resume", "null", one, exec},
		{"<x>/Operations/Lock", "null", one, exec},
		{"<x>/Operations/Unlock", "null", one, exec},
		{"<x>/Operations/Remove", "null", one, exec},
		{"<x>/LockParams", "node", one, get},
		{"<x>/LockParams/State", "int", one, get},
		{"<x>/LockParams/UserUnlock", "bool", one, get | rep},
		{"<x>/LockParams/UnlockAuth", "node", zeroOrOne, get | add | del},
		{"<x>/LockParams/UnlockAuth/AuthType", "int", one, get | rep},
		{"<x>/LockParams/UnlockAuth/AuthData", "bin", one, get | rep},
		{"<x>/LockParams/UnlockAuth/AuthDigest", "bin", one, get | rep},
		{"<x>/DM", "node", one, get},
		{"<x>/DM/LAWMO", "node", one, get},
		{"<x>/DM/LAWMO/State", "int", one, get},
		{"<x>/DM/LAWMO/Operations/FullyLock", "null", one, exec},
		{"<x>/DM/LAWMO/Operations/PartiallyLock", "null", one, exec},
		{"<x>/DM/LAWMO/Operations/UnLock", "null", one, exec},
		{"<x>/DM/LAWMO/Operations/Wipe", "null", one, exec},
		{"<x>/DM/LAWMO/Operations/FactoryReset", "null", one, exec},
		{"<x>/Ext/LockGeneration", "int", one, get},
		{"<x>/Ext/UnlockAttempts", "int", one, get},
		{"<x>/Ext/MaxUnlockAttempts", "int", one, get | rep},
		{"<x>/Ext/SingleUseUnlock", "bool", one, get | rep},
	}
	root := definition()
	if root.Name != Root || root.Type != Type || root.Access != get {
		t.Errorf("root = %s %s access %b, want VirMO %s Get", root.Name, root.Type, root.Access, Type)
	}
	if root.Scope != dmtree.ScopePermanent {
		t.Errorf("root Scope = %s, want Permanent", root.Scope)
	}
	defs := map[string]*dmtree.NodeDef{}
	defsByPath(root, "", defs)

	for _, tt := range tests {
		d, ok := defs[tt.path]
		if !ok {
			t.Errorf("%s: no definition", tt.path)
			continue
		}
		if d.Format != tt.format {
			t.Errorf("%s: format %s, want %s", tt.path, d.Format, tt.format)
		}
		if d.Occurrence != tt.occ {
			t.Errorf("%s: occurrence %s, want %s", tt.path, d.Occurrence, tt.occ)
		}
		if d.Access != tt.access {
			t.Errorf("%s: access %06b, want %06b", tt.path, d.Access, tt.access)
		}
	}
	if defs["<x>/DM/LAWMO"].Type != LAWMOType {
		t.Errorf("LAWMO Type = %q, want %q", defs["<x>/DM/LAWMO"].Type, LAWMOType)
	}
}
