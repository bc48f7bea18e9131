package dmtree

import (
	"errors"
	"strings"
	"testing"

	"github.com/virmo/virmo/syncml"
)

func TestAtomicRollsBack(t *testing.T) {
	env := newEnv(t, openACL)
	before := env.snapshot(t)
	atomic := syncml.Command{Name: syncml.CmdAtomic, CmdID: "1", Commands: []syncml.Command{
		command(syncml.CmdReplace, "2", item("Test/Count", "int", "9")),
		command(syncml.CmdAdd, "3", item("New", "", "x")),
		command(syncml.CmdReplace, "4", item("Test/Flag", "bool", "nope")),
		command(syncml.CmdDelete, "5", target("New")),
	}}
	out := env.run(atomic)
	want := "Atomic 1=507, Replace 2=216, Add 3=216, Replace 4=415, Delete 5=216"
	if got := codes(out); got != want {
		t.Errorf("answers = %q, want %q", got, want)
	}
	if after := env.snapshot(t); after != before {
		t.Errorf("tree changed by a failed Atomic:\nbefore %s\nafter  %s", before, after)
	}
	if len(env.calls) != 0 {
		t.Errorf("Persist called %d times, want 0", len(env.calls))
	}
}

func TestAtomicCommits(t *testing.T) {
	env := newEnv(t, openACL)
	atomic := syncml.Command{Name: syncml.CmdAtomic, CmdID: "1", Commands: []syncml.Command{
		command(syncml.CmdReplace, "2", item("Test/Count", "int", "9")),
		command(syncml.CmdAdd, "3", item("New", "", "x")),
		{Name: syncml.CmdAlert, CmdID: "4", Data: "1200"},
	}}
	if got := codes(env.run(atomic)); got != "Atomic 1=200, Replace 2=200, Add 3=200, Alert 4=200" {
		t.Errorf("answers = %q", got)
	}
	if got := env.value(t, "Test/Count"); got != "9" {
		t.Errorf("Count = %q, want 9", got)
	}
	if len(env.calls) != 1 {
		t.Errorf("Persist called %d times, want once for the Atomic", len(env.calls))
	}
}

func TestAtomicRejectsForbiddenChildren(t *testing.T) {
	for _, name := range []string{syncml.CmdGet, syncml.CmdExec, syncml.CmdAtomic, syncml.CmdSequence} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t, openACL)
			atomic := syncml.Command{Name: syncml.CmdAtomic, CmdID: "1", Commands: []syncml.Command{
				command(syncml.CmdReplace, "2", item("Test/Count", "int", "9")),
				command(name, "3", target("Test/Op")),
			}}
			want := "Atomic 1=500, Replace 2=215, " + name + " 3=500"
			if got := codes(env.run(atomic)); got != want {
				t.Errorf("answers = %q, want %q", got, want)
			}
			if got := env.value(t, "Test/Count"); got != "0" {
				t.Errorf("Count = %q, want 0", got)
			}
		})
	}
}

func TestSequenceStopsAtFailure(t *testing.T) {
	env := newEnv(t, openACL)
	seq := syncml.Command{Name: syncml.CmdSequence, CmdID: "1", Commands: []syncml.Command{
		command(syncml.CmdReplace, "2", item("Test/Count", "int", "9")),
		command(syncml.CmdGet, "3", target("Test/Count")),
		command(syncml.CmdReplace, "4", item("Test/Fixed", "chr", "veto")),
		command(syncml.CmdReplace, "5", item("Test/Flag", "bool", "true")),
		command(syncml.CmdExec, "6", target("Test/Op")),
	}}
	out := env.run(seq)
	want := "Sequence 1=200, Replace 2=200, Get 3=200, Results 3, Replace 4=403, Replace 5=215, Exec 6=215"
	if got := codes(out); got != want {
		t.Errorf("answers = %q, want %q", got, want)
	}
	if got := out[3].Items[0].Data.Value; got != "9" {
		t.Errorf("Get in Sequence read %q, want 9 from the earlier Replace", got)
	}
	checks := map[string]string{"Test/Count": "9", "Test/Fixed": "fixed", "Test/Flag": "false"}
	for uri, want := range checks {
		if got := env.value(t, uri); got != want {
			t.Errorf("%s = %q, want %q", uri, got, want)
		}
	}
	if len(env.calls) != 1 {
		t.Errorf("Persist called %d times, want once for the Sequence", len(env.calls))
	}
}

func TestSequenceWithFailingAtomic(t *testing.T) {
	env := newEnv(t, openACL)
	seq := syncml.Command{Name: syncml.CmdSequence, CmdID: "1", Commands: []syncml.Command{
		{Name: syncml.CmdAtomic, CmdID: "2", Commands: []syncml.Command{
			command(syncml.CmdReplace, "3", item("Test/Count", "int", "1")),
			command(syncml.CmdDelete, "4", target("Nope")),
		}},
		command(syncml.CmdReplace, "5", item("Test/Count", "int", "2")),
	}}
	want := "Sequence 1=200, Atomic 2=507, Replace 3=216, Delete 4=404, Replace 5=215"
	if got := codes(env.run(seq)); got != want {
		t.Errorf("answers = %q, want %q", got, want)
	}
	if got := env.value(t, "Test/Count"); got != "0" {
		t.Errorf("Count = %q, want 0", got)
	}
}

func TestPersistFailureRollsBack(t *testing.T) {
	env := newEnv(t, openACL)
	env.fail = true
	before := env.snapshot(t)

	out := env.run(command(syncml.CmdReplace, "1", item("Test/Count", "int", "9")))
	if got := codes(out); got != "Replace 1=510" {
		t.Errorf("Replace answers = %q, want 510", got)
	}
	seq := syncml.Command{Name: syncml.CmdSequence, CmdID: "2", Commands: []syncml.Command{
		command(syncml.CmdReplace, "3", item("Test/Count", "int", "9")),
		command(syncml.CmdGet, "4", target("Test/Count")),
	}}
	if got := codes(env.run(seq)); got != "Sequence 2=510, Replace 3=216, Get 4=216" {
		t.Errorf("Sequence answers = %q", got)
	}
	err := env.tree.Update(func(tx *Tx) error { return tx.SetValue("Test/Count", []byte("9")) })
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Update error = %v, want the Persist error", err)
	}
	if after := env.snapshot(t); after != before {
		t.Errorf("tree changed although Persist failed")
	}
}

func TestReadOnlyCommandsDoNotPersist(t *testing.T) {
	env := newEnv(t, openACL)
	env.run(command(syncml.CmdGet, "1", target("Test/Count")))
	env.run(command(syncml.CmdReplace, "2", item("Test/Count", "int", "x")))
	if len(env.calls) != 0 {
		t.Errorf("Persist called %d times, want 0", len(env.calls))
	}
}

func TestUpdateBypassesChecks(t *testing.T) {
	env := newEnv(t, "Get=*")
	err := env.tree.Update(func(tx *Tx) error {
		if err := tx.SetValue("Test/Secret", []byte("s")); err != nil {
			return err
		}
		if err := tx.AddNode("Test/Items/x/Extra", FormatInt, []byte("3")); err != nil {
			return err
		}
		if err := tx.Delete("Test/Count"); err != nil {
			return err
		}
		tx.QueueAlert(Alert{Type: "urn:test:local"})
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := env.value(t, "Test/Items/x/Extra"); got != "3" {
		t.Errorf("Extra = %q, want 3", got)
	}
	if len(env.plugin.changes) != 0 {
		t.Errorf("local Update called BeforeChange %d times", len(env.plugin.changes))
	}
	if len(env.calls) != 1 || len(env.calls[0].alerts) != 1 {
		t.Errorf("persist calls = %d, want 1 with the alert", len(env.calls))
	}
}

func TestUpdateErrorDropsChanges(t *testing.T) {
	env := newEnv(t, openACL)
	sentinel := errors.New("stop")
	err := env.tree.Update(func(tx *Tx) error {
		_ = tx.SetValue("Test/Count", []byte("5"))
		return sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Errorf("Update error = %v, want the callback's", err)
	}
	if got := env.value(t, "Test/Count"); got != "0" {
		t.Errorf("Count = %q, want 0", got)
	}
	if len(env.calls) != 0 {
		t.Errorf("Persist called %d times, want 0", len(env.calls))
	}
}

func TestTxErrors(t *testing.T) {
	env := newEnv(t, openACL)
	tests := []struct {
		name string
		fn   func(tx *Tx) error
		code int
	}{
		{"set interior", func(tx *Tx) error { return tx.SetValue("Test", nil) }, 405},
		{"set bad int", func(tx *Tx) error { return tx.SetValue("Test/Count", []byte("x")) }, 415},
		{"set missing", func(tx *Tx) error { return tx.SetValue("Nope", nil) }, 404},
		{"add existing", func(tx *Tx) error { return tx.AddNode("Test/Count", FormatInt, []byte("1")) }, 418},
		{"add below leaf", func(tx *Tx) error { return tx.AddNode("Test/Count/X", FormatChr, nil) }, 404},
		{"add b64", func(tx *Tx) error { return tx.AddNode("X", FormatB64, nil) }, 415},
		{"add from no def", func(tx *Tx) error { return tx.AddFromDef("Free/X") }, 404},
		{"delete root", func(tx *Tx) error { return tx.Delete(".") }, 405},
		{"bad acl", func(tx *Tx) error { return tx.SetACL("Test", "Get") }, 400},
		{"empty root acl", func(tx *Tx) error { return tx.SetACL(".", "") }, 400},
		{"bad uri", func(tx *Tx) error { _, err := tx.Node("A/"); return err }, 400},
	}
	for _, tt := range tests {
		err := env.tree.Update(tt.fn)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != tt.code {
			t.Errorf("%s: error = %v, want status %d", tt.name, err, tt.code)
		}
	}
}

func TestAddFromDef(t *testing.T) {
	env := newEnv(t, openACL)
	err := env.tree.Update(func(tx *Tx) error { return tx.AddFromDef("Test/Items/vm1") })
	if err != nil {
		t.Fatalf("AddFromDef: %v", err)
	}
	if got := env.value(t, "Test/Items/vm1/Value"); got != "v" {
		t.Errorf("Value = %q, want the default v", got)
	}
	if env.node(t, "Test/Items/vm1/Opt") != nil {
		t.Error("AddFromDef created the ZeroOrOne node Opt")
	}
}

func TestViewIsReadOnly(t *testing.T) {
	env := newEnv(t, openACL)
	err := env.tree.View(func(tx *Tx) error { return tx.SetValue("Test/Count", []byte("1")) })
	if !errors.Is(err, ErrReadOnly) {
		t.Errorf("View SetValue error = %v, want ErrReadOnly", err)
	}
	var kept *Tx
	_ = env.tree.View(func(tx *Tx) error { kept = tx; return nil })
	if _, err := kept.Node("Test"); !errors.Is(err, ErrTxClosed) {
		t.Errorf("Node after View error = %v, want ErrTxClosed", err)
	}
}

func TestTStampAndVerNo(t *testing.T) {
	now := int64(1000)
	tree := New(Options{RootACL: openACL, Now: func() int64 { return now }})
	run := func(cmd syncml.Command) { tree.Execute(t.Context(), srv, cmd) }
	run(command(syncml.CmdAdd, "1", item("A", "", "x")))
	now = 2000
	run(command(syncml.CmdReplace, "2", item("A", "", "y")))
	run(command(syncml.CmdReplace, "3", item("A", "", "z")))
	var n *Node
	_ = tree.View(func(tx *Tx) error { n, _ = tx.Node("A"); return nil })
	if n.TStamp != 2000 || n.VerNo != 2 {
		t.Errorf("TStamp %d VerNo %d, want 2000 and 2", n.TStamp, n.VerNo)
	}
}

func TestMountSetsRoot(t *testing.T) {
	env := newEnv(t, openACL)
	n := env.node(t, "Test")
	if n == nil || n.Type != testMOType || n.Def == nil {
		t.Fatalf("Test root = %+v, want Type %s and a definition", n, testMOType)
	}
	want := "Count Fixed Flag Items Op Secret Single"
	if got := strings.Join(n.Children, " "); got != want {
		t.Errorf("children = %q, want %q", got, want)
	}
	if err := env.tree.Mount(&testPlugin{}); err == nil {
		t.Error("second Mount at the same name succeeded")
	}
}
