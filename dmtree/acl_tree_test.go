package dmtree

import (
	"testing"

	"github.com/virmo/virmo/syncml"
)

// aclEnv returns a tree with ./Test mounted, the root ACL "Add=*&Get=*",
// and Test/Items/a owned by srv through the ACL "Get=srv&Replace=srv&
// Delete=srv&Add=srv".
func aclEnv(t *testing.T) *testEnv {
	t.Helper()
	env := newEnv(t, "")
	err := env.tree.Update(func(tx *Tx) error {
		if err := tx.AddFromDef("Test/Items/a"); err != nil {
			return err
		}
		return tx.SetACL("Test/Items/a", "Get=srv&Replace=srv&Delete=srv&Add=srv")
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestACLChecks(t *testing.T) {
	tests := []struct {
		name   string
		server string
		cmd    syncml.Command
		want   string
	}{
		{"root default allows get", "other", command(syncml.CmdGet, "1", target("Test/Count")), "200"},
		{"root default allows add", "other", command(syncml.CmdAdd, "1", item("Free", "", "x")), "200"},
		{"root default denies replace", "srv", command(syncml.CmdReplace, "1", item("Test/Count", "int", "1")), "425"},
		{"root default denies delete", "srv", command(syncml.CmdDelete, "1", target("Test/Items")), "425"},
		{"root default denies exec", "srv", command(syncml.CmdExec, "1", target("Test/Op")), "425"},
		{"inherited get for owner", "srv", command(syncml.CmdGet, "1", target("Test/Items/a/Value")), "200"},
		{"inherited get for other", "other", command(syncml.CmdGet, "1", target("Test/Items/a/Value")), "425"},
		{"inherited replace for owner", "srv", command(syncml.CmdReplace, "1", item("Test/Items/a/Value", "", "x")), "200"},
		{"replace for other", "other", command(syncml.CmdReplace, "1", item("Test/Items/a/Value", "", "x")), "425"},
		{"add below owned node", "srv", command(syncml.CmdAdd, "1", item("Test/Items/a/Opt", "", "x")), "200"},
		{"add below owned node by other", "other", command(syncml.CmdAdd, "1", item("Test/Items/a/Opt", "", "x")), "425"},
		{"delete owned node", "srv", command(syncml.CmdDelete, "1", target("Test/Items/a")), "200"},
		{"delete by other", "other", command(syncml.CmdDelete, "1", target("Test/Items/a")), "425"},
		{"empty server id", "", command(syncml.CmdGet, "1", target("Test/Items/a")), "425"},
		{"get acl prop by other", "other", command(syncml.CmdGet, "1", target("Test/Items/a?prop=ACL")), "425"},
		{"interior acl by owner", "srv", command(syncml.CmdReplace, "1", item("Test/Items/a?prop=ACL", "", "Get=*")), "200"},
		{"interior acl by other", "other", command(syncml.CmdReplace, "1", item("Test/Items/a?prop=ACL", "", "Get=*")), "425"},
		{"leaf acl by parent owner", "srv", command(syncml.CmdReplace, "1", item("Test/Items/a/Value?prop=ACL", "", "Get=*")), "200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := aclEnv(t)
			out := env.runAs(tt.server, tt.cmd)
			if len(out) == 0 || out[0].Data != tt.want {
				t.Errorf("answers = %q, want status %s", codes(out), tt.want)
			}
		})
	}
}

func TestLeafACLNotSelfGoverned(t *testing.T) {
	env := aclEnv(t)
	// The leaf grants srv2 Replace, but a leaf's ACL is governed by its
	// parent, where srv2 has no right.
	err := env.tree.Update(func(tx *Tx) error { return tx.SetACL("Test/Items/a/Value", "Replace=srv2&Get=srv2") })
	if err != nil {
		t.Fatal(err)
	}
	out := env.runAs("srv2", command(syncml.CmdReplace, "1", item("Test/Items/a/Value?prop=ACL", "", "Replace=*")))
	if got := codes(out); got != "Replace 1=425" {
		t.Errorf("answers = %q, want 425", got)
	}
	out = env.runAs("srv2", command(syncml.CmdReplace, "2", item("Test/Items/a/Value", "", "new")))
	if got := codes(out); got != "Replace 2=200" {
		t.Errorf("value Replace answers = %q, want 200 from the leaf's own ACL", got)
	}
}

func TestParentReplaceTakesOverChildACL(t *testing.T) {
	env := aclEnv(t)
	err := env.tree.Update(func(tx *Tx) error {
		if err := tx.AddNode("Test/Items/a/Sub", FormatNode, nil); err != nil {
			return err
		}
		return tx.SetACL("Test/Items/a/Sub", "Get=srv3&Replace=srv3")
	})
	if err != nil {
		t.Fatal(err)
	}
	out := env.run(command(syncml.CmdReplace, "1", item("Test/Items/a/Sub?prop=ACL", "", "Get=srv&Replace=srv")))
	if got := codes(out); got != "Replace 1=200" {
		t.Errorf("answers = %q, want 200 through Replace on the parent", got)
	}
	if n := env.node(t, "Test/Items/a/Sub"); n.ACL != "Get=srv&Replace=srv" {
		t.Errorf("ACL = %q", n.ACL)
	}
}

func TestEmptyACLInheritsWhole(t *testing.T) {
	env := newEnv(t, "Add=*&Get=*&Replace=*")
	err := env.tree.Update(func(tx *Tx) error { return tx.SetACL("Test", "Delete=srv") })
	if err != nil {
		t.Fatal(err)
	}
	// Test's ACL replaces the root's as a whole: no Get or Replace is merged
	// in from the root.
	out := env.run(command(syncml.CmdGet, "1", target("Test/Count")))
	if got := codes(out); got != "Get 1=425" {
		t.Errorf("answers = %q, want 425", got)
	}
	out = env.run(command(syncml.CmdGet, "2", target("Test?prop=ACL")))
	if got := codes(out); got != "Get 2=425" {
		t.Errorf("answers = %q, want 425", got)
	}
}

func TestGetEmptyACLReadsEmpty(t *testing.T) {
	env := aclEnv(t)
	out := env.run(command(syncml.CmdGet, "1", target("Test/Items/a/Value?prop=ACL")))
	if len(out) != 2 || out[1].Items[0].Data.Value != "" {
		t.Errorf("answers = %q, want an empty ACL value", codes(out))
	}
}

func TestCreatorACLOnInteriorAdd(t *testing.T) {
	env := newEnv(t, "")
	out := env.runAs("srv9", command(syncml.CmdAdd, "1", item("Org/Sub", "node")))
	if got := codes(out); got != "Add 1=200" {
		t.Fatalf("answers = %q", got)
	}
	if n := env.node(t, "Org"); n.ACL != "Add=srv9&Delete=srv9&Replace=srv9" {
		t.Errorf("Org ACL = %q, want the creator's rights", n.ACL)
	}
	if n := env.node(t, "Org/Sub"); n.ACL != "" {
		t.Errorf("Org/Sub ACL = %q, want empty since srv9 holds Replace on Org", n.ACL)
	}
	out = env.runAs("srv9", command(syncml.CmdDelete, "2", target("Org")))
	if got := codes(out); got != "Delete 2=200" {
		t.Errorf("creator Delete answers = %q", got)
	}
}
