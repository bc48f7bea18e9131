package dmtree

import (
	"strings"
	"testing"

	"github.com/virmo/virmo/syncml"
)

func TestSnapshotRoundTrip(t *testing.T) {
	env := newEnv(t, openACL)
	env.run(command(syncml.CmdAdd, "1", item("Test/Blob", "b64", "AP8="), item("Test/Items/a", "node")))
	env.run(command(syncml.CmdReplace, "2",
		item("Test/Count", "int", "7"),
		item("Test/Items/a?prop=ACL", "", "Get=srv"),
		item("Test/Fixed?prop=Title", "", "Fixed value")))
	if len(env.calls) != 2 {
		t.Fatalf("Persist called %d times, want 2", len(env.calls))
	}
	snapshot := env.calls[1].snapshot

	restored := newEnv(t, "")
	if err := restored.tree.Load(snapshot); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := restored.snapshot(t), string(snapshot); got != want {
		t.Errorf("restored tree encodes differently:\n got %s\nwant %s", got, want)
	}
	if got := restored.value(t, "Test/Blob"); got != "\x00\xff" {
		t.Errorf("Blob = %q", got)
	}
	n := restored.node(t, "Test/Count")
	if n.VerNo != 1 || n.TStamp != 1700000000 || n.Def == nil {
		t.Errorf("Count = %+v, want VerNo 1, TStamp and a definition", n)
	}
	if n := restored.node(t, "Test/Items/a"); n.ACL != "Get=srv" {
		t.Errorf("ACL = %q, want Get=srv", n.ACL)
	}
	if n := restored.node(t, "."); n.ACL != openACL {
		t.Errorf("root ACL = %q, want the snapshot's", n.ACL)
	}
	if n := restored.node(t, "Test/Fixed"); n.Title != "Fixed value" {
		t.Errorf("Title = %q", n.Title)
	}
	if len(restored.calls) != 0 {
		t.Errorf("Load persisted %d times", len(restored.calls))
	}
}

func TestLoadRecreatesPermanentNodes(t *testing.T) {
	bare := New(Options{})
	snapshot, err := encodeSnapshot(bare.root)
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, "")
	if err := env.tree.Load(snapshot); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := env.value(t, "Test/Fixed"); got != "fixed" {
		t.Errorf("Fixed = %q, want the default", got)
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"not json", "garbage"},
		{"trailing data", `{"version":1,"root":{"format":"node","acl":"Get=*"}} {}`},
		{"wrong version", `{"version":2,"root":{"format":"node","acl":"Get=*"}}`},
		{"no root", `{"version":1}`},
		{"null root", `{"version":1,"root":null}`},
		{"leaf root", `{"version":1,"root":{"format":"chr","acl":"Get=*"}}`},
		{"root without acl", `{"version":1,"root":{"format":"node"}}`},
		{"named root", `{"version":1,"root":{"name":"x","format":"node","acl":"Get=*"}}`},
		{"unknown field", `{"version":1,"root":{"format":"node","acl":"Get=*","x":1}}`},
		{"bad acl", `{"version":1,"root":{"format":"node","acl":"Get"}}`},
		{"unknown format", `{"version":1,"root":{"format":"node","acl":"Get=*","children":[{"name":"a","format":"text"}]}}`},
		{"b64 format", `{"version":1,"root":{"format":"node","acl":"Get=*","children":[{"name":"a","format":"b64"}]}}`},
		{"empty name", `{"version":1,"root":{"format":"node","acl":"Get=*","children":[{"format":"chr"}]}}`},
		{"dot name", `{"version":1,"root":{"format":"node","acl":"Get=*","children":[{"name":"..","format":"chr"}]}}`},
		{"slash name", `{"version":1,"root":{"format":"node","acl":"Get=*","children":[{"name":"a/b","format":"chr"}]}}`},
		{"duplicate name", `{"version":1,"root":{"format":"node","acl":"Get=*","children":[{"name":"a","format":"chr"},{"name":"a","format":"chr"}]}}`},
		{"null child", `{"version":1,"root":{"format":"node","acl":"Get=*","children":[null]}}`},
		{"leaf with children", `{"version":1,"root":{"format":"node","acl":"Get=*","children":[{"name":"a","format":"chr","children":[{"name":"b","format":"chr"}]}]}}`},
		{"interior with value", `{"version":1,"root":{"format":"node","acl":"Get=*","children":[{"name":"a","format":"node","value":"AA=="}]}}`},
		{"bad value encoding", `{"version":1,"root":{"format":"node","acl":"Get=*","children":[{"name":"a","format":"chr","value":"!"}]}}`},
		{"verno overflow", `{"version":1,"root":{"format":"node","acl":"Get=*","verno":70000}}`},
		{"plugin root is leaf", `{"version":1,"root":{"format":"node","acl":"Get=*","children":[{"name":"Test","format":"chr"}]}}`},
		{"deep nesting", `{"version":1,"root":` + strings.Repeat(`{"format":"node","acl":"Get=*","children":[`, 20000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, openACL)
			before := env.snapshot(t)
			if err := env.tree.Load([]byte(tt.in)); err == nil {
				t.Fatal("Load succeeded")
			}
			if after := env.snapshot(t); after != before {
				t.Error("failed Load changed the tree")
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	env := New(Options{RootACL: openACL})
	_ = env.Mount(&testPlugin{})
	good, _ := encodeSnapshot(env.root)
	f.Add(good)
	f.Add([]byte(`{"version":1,"root":{"format":"node","acl":"Get=*","children":[{"name":"a","format":"int","value":"MQ=="}]}}`))
	f.Add([]byte(`{"version":1,"root":{"format":"node","acl":"Get=*","children":[{"name":"Test","format":"chr"}]}}`))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tree := New(Options{RootACL: openACL})
		if err := tree.Mount(&testPlugin{}); err != nil {
			t.Fatal(err)
		}
		before, _ := encodeSnapshot(tree.root)
		if err := tree.Load(data); err != nil {
			after, _ := encodeSnapshot(tree.root)
			if string(after) != string(before) {
				t.Fatalf("failed Load changed the tree")
			}
			return
		}
		// A loaded tree encodes and loads again to the same bytes.
		once, err := encodeSnapshot(tree.root)
		if err != nil {
			t.Fatal(err)
		}
		again := New(Options{RootACL: openACL})
		_ = again.Mount(&testPlugin{})
		if err := again.Load(once); err != nil {
			t.Fatalf("re-Load of an encoded tree: %v", err)
		}
		twice, _ := encodeSnapshot(again.root)
		if string(twice) != string(once) {
			t.Fatalf("snapshot not stable:\n%s\n%s", once, twice)
		}
	})
}
