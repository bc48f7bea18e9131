package dmtree

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/virmo/virmo/syncml"
)

const testMOType = "urn:oma:mo:test:1.0"

// testPlugin is a small management object mounted at ./Test. Its
// BeforeChange rejects the value "veto" with 403 and the delete of an
// item named "keep"; its Exec on Op counts runs in Count and answers by
// the Exec data: "fail" 500, "async" 202 with a queued alert, "bogus" 99.
type testPlugin struct {
	changes []Change
	execs   []ExecRequest
}

func (p *testPlugin) Definition() *NodeDef {
	return &NodeDef{
		Name: "Test", Format: FormatNode, Type: testMOType, Access: AccessGet,
		Scope: ScopePermanent,
		Children: []*NodeDef{
			{Name: "Fixed", Format: FormatChr, Access: AccessGet | AccessReplace,
				Occurrence: OccurrenceOne, Scope: ScopePermanent, Default: "fixed"},
			{Name: "Count", Format: FormatInt, Access: AccessGet | AccessReplace,
				Occurrence: OccurrenceOne, Scope: ScopePermanent, Default: "0"},
			{Name: "Flag", Format: FormatBool, Access: AccessGet | AccessReplace,
				Occurrence: OccurrenceOne, Scope: ScopePermanent, Default: "false"},
			{Name: "Blob", Format: FormatBin, Access: AccessGet | AccessReplace | AccessAdd | AccessDelete,
				Occurrence: OccurrenceZeroOrOne, Scope: ScopeDynamic},
			{Name: "Secret", Format: FormatChr, Access: AccessReplace,
				Occurrence: OccurrenceOne, Scope: ScopePermanent},
			{Name: "Op", Format: FormatNull, Access: AccessExec,
				Occurrence: OccurrenceOne, Scope: ScopePermanent},
			{Name: "Items", Format: FormatNode, Access: AccessGet,
				Occurrence: OccurrenceOne, Scope: ScopePermanent,
				Children: []*NodeDef{{
					Format: FormatNode, Access: AccessGet | AccessAdd | AccessDelete,
					Occurrence: OccurrenceZeroOrMore, Scope: ScopeDynamic,
					Children: []*NodeDef{
						{Name: "Value", Format: FormatChr, Access: AccessGet | AccessReplace,
							Occurrence: OccurrenceOne, Default: "v"},
						{Name: "Opt", Format: FormatChr, Access: AccessGet | AccessAdd | AccessDelete,
							Occurrence: OccurrenceZeroOrOne},
					},
				}},
			},
			{Name: "Single", Format: FormatNode, Access: AccessGet,
				Occurrence: OccurrenceOne, Scope: ScopePermanent,
				Children: []*NodeDef{{Format: FormatChr, Access: AccessGet | AccessAdd | AccessDelete,
					Occurrence: OccurrenceZeroOrOne}},
			},
		},
	}
}

func (p *testPlugin) BeforeChange(tx *Tx, ch Change) error {
	p.changes = append(p.changes, ch)
	if ch.New != nil && string(ch.New.Value) == "veto" {
		return Errorf(403, "value vetoed")
	}
	if ch.Op == OpDelete && ch.URI.Name() == "keep" {
		return Errorf(403, "item keep cannot be deleted")
	}
	return nil
}

func (p *testPlugin) Exec(ctx context.Context, tx *Tx, req ExecRequest) int {
	p.execs = append(p.execs, req)
	count, _ := tx.Value("Test/Count")
	n, _ := strconv.Atoi(string(count))
	if err := tx.SetValue("Test/Count", []byte(strconv.Itoa(n+1))); err != nil {
		return 500
	}
	switch req.Data {
	case "fail":
		return 500
	case "bogus":
		return 99
	case "async":
		tx.QueueAlert(Alert{Type: "urn:test:done", Correlator: req.Correlator, Data: "1200"})
		return 202
	}
	return 200
}

// openACL grants every command to every server, for tests of rules other
// than ACLs.
const openACL = "Add=*&Delete=*&Exec=*&Get=*&Replace=*"

type persistCall struct {
	snapshot []byte
	alerts   []Alert
}

// testEnv is a tree with testPlugin mounted and a recording Persist.
type testEnv struct {
	tree   *Tree
	plugin *testPlugin
	calls  []persistCall
	fail   bool
}

func newEnv(t *testing.T, rootACL string) *testEnv {
	t.Helper()
	env := &testEnv{plugin: &testPlugin{}}
	env.tree = New(Options{
		RootACL: rootACL,
		Now:     func() int64 { return 1700000000 },
		Persist: func(snapshot []byte, alerts []Alert) error {
			if env.fail {
				return errString("disk full")
			}
			env.calls = append(env.calls, persistCall{snapshot, alerts})
			return nil
		},
	})
	if err := env.tree.Mount(env.plugin); err != nil {
		t.Fatalf("Mount: %v", err)
	}
	return env
}

type errString string

func (e errString) Error() string { return string(e) }

var srv = Session{ServerID: "srv", MsgRef: "7"}

// item returns an Item targeting uri with an optional Meta Format and Data.
func item(uri, format string, data ...string) syncml.Item {
	it := syncml.Item{Target: &syncml.Locator{LocURI: uri}}
	if format != "" {
		it.Meta = &syncml.Meta{Format: format}
	}
	if len(data) > 0 {
		it.Data = syncml.NewData(data[0])
	}
	return it
}

func command(name, id string, items ...syncml.Item) syncml.Command {
	return syncml.Command{Name: name, CmdID: id, Items: items}
}

// run executes cmd for srv and returns the answers.
func (e *testEnv) run(cmd syncml.Command) []syncml.Command {
	return e.tree.Execute(context.Background(), srv, cmd)
}

func (e *testEnv) runAs(server string, cmd syncml.Command) []syncml.Command {
	return e.tree.Execute(context.Background(), Session{ServerID: server, MsgRef: "7"}, cmd)
}

// codes lists the answers as "Cmd CmdRef=code" for statuses and
// "Results CmdRef" for results.
func codes(out []syncml.Command) string {
	var parts []string
	for _, c := range out {
		switch c.Name {
		case syncml.CmdStatus:
			parts = append(parts, c.Cmd+" "+c.CmdRef+"="+c.Data)
		default:
			parts = append(parts, c.Name+" "+c.CmdRef)
		}
	}
	return strings.Join(parts, ", ")
}

// value returns the stored value of uri, or "<err>" with the status.
func (e *testEnv) value(t *testing.T, uri string) string {
	t.Helper()
	var v []byte
	err := e.tree.View(func(tx *Tx) error {
		var err error
		v, err = tx.Value(uri)
		return err
	})
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(v)
}

func (e *testEnv) node(t *testing.T, uri string) *Node {
	t.Helper()
	var n *Node
	_ = e.tree.View(func(tx *Tx) error {
		n, _ = tx.Node(uri)
		return nil
	})
	return n
}

func (e *testEnv) snapshot(t *testing.T) string {
	t.Helper()
	b, err := encodeSnapshot(e.tree.root)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// target returns an Item with only a Target.
func target(uri string) syncml.Item { return item(uri, "") }
