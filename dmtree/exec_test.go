package dmtree

import (
	"strings"
	"testing"

	"github.com/virmo/virmo/syncml"
)

func TestExecuteStatusCodes(t *testing.T) {
	add, rep, del, get, exe := syncml.CmdAdd, syncml.CmdReplace, syncml.CmdDelete, syncml.CmdGet, syncml.CmdExec
	tests := []struct {
		name string
		cmd  syncml.Command
		want string
		// uri and value, when set, are checked after the command.
		uri, value string
	}{
		{"add leaf outside plugins", command(add, "1", item("./Free", "", "x")), "Add 1=200", "Free", "x"},
		{"add creates parents", command(add, "1", item("A/B/C", "int", "5")), "Add 1=200", "A/B/C", "5"},
		{"add existing node", command(add, "1", item("Test/Count", "int", "1")), "Add 1=418", "Test/Count", "0"},
		{"add root", command(add, "1", item(".", "node")), "Add 1=418", "", ""},
		{"add below leaf", command(add, "1", item("Test/Count/X", "", "1")), "Add 1=404", "", ""},
		{"add property", command(add, "1", item("Test/Count?prop=Title", "", "t")), "Add 1=405", "", ""},
		{"add undefined node", command(add, "1", item("Test/Other", "", "x")), "Add 1=405", "", ""},
		{"add without access", command(add, "1", item("Test/Items/a/Value", "", "x")), "Add 1=405", "", ""},
		{"add permanent node", command(add, "1", item("Test/Secret", "", "x")), "Add 1=418", "", ""},
		{"add format mismatch", command(add, "1", item("Test/Blob", "chr", "x")), "Add 1=415", "Test/Blob", "<status 404: node Test/Blob not found>"},
		{"add b64 to bin", command(add, "1", item("Test/Blob", "b64", "AAE=")), "Add 1=200", "Test/Blob", "\x00\x01"},
		{"add bad b64", command(add, "1", item("Test/Blob", "b64", "A")), "Add 1=415", "", ""},
		{"add bad int", command(add, "1", item("X", "int", "one")), "Add 1=415", "X", "<status 404: node X not found>"},
		{"add no items", command(add, "1"), "Add 1=412", "", ""},
		{"add no target", command(add, "1", syncml.Item{Data: syncml.NewData("x")}), "Add 1=412", "", ""},
		{"add bad uri", command(add, "1", item("A//B", "", "x")), "Add 1=400", "", ""},
		{"add long uri", command(add, "1", item("A/"+strings.Repeat("a", 65), "", "x")), "Add 1=414", "", ""},
		{"add interior with data", command(add, "1", item("N", "node", "x")), "Add 1=415", "", ""},
		{"add wbxml tnds", syncml.Command{Name: add, CmdID: "1", Meta: &syncml.Meta{Type: TypeTNDSWBXML},
			Items: []syncml.Item{item("N", "", "<MgmtTree/>")}}, "Add 1=415", "", ""},
		{"add empty tnds", syncml.Command{Name: add, CmdID: "1", Meta: &syncml.Meta{Type: TypeTNDSXML},
			Items: []syncml.Item{item("N", "", "<MgmtTree/>")}}, "Add 1=400", "", ""},
		{"add runtime node", command(add, "1", item("Test/Items/a", "node")), "Add 1=200", "Test/Items/a/Value", "v"},
		{"add runtime leaf", command(add, "1", item("Test/Single/a", "", "x")), "Add 1=200", "Test/Single/a", "x"},
		{"replace leaf", command(rep, "1", item("Test/Count", "int", "42")), "Replace 1=200", "Test/Count", "42"},
		{"replace missing", command(rep, "1", item("Test/Blob", "b64", "AA==")), "Replace 1=404", "Test/Blob", "<status 404: node Test/Blob not found>"},
		{"replace interior", command(rep, "1", item("Test/Items", "node")), "Replace 1=405", "", ""},
		{"replace without access", command(rep, "1", item("Test/Op", "null", "")), "Replace 1=405", "", ""},
		{"replace format mismatch", command(rep, "1", item("Test/Count", "", "5")), "Replace 1=415", "Test/Count", "0"},
		{"replace int out of range", command(rep, "1", item("Test/Count", "int", "4294967296")), "Replace 1=415", "Test/Count", "0"},
		{"replace bad bool", command(rep, "1", item("Test/Flag", "bool", "yes")), "Replace 1=415", "Test/Flag", "false"},
		{"replace vetoed", command(rep, "1", item("Test/Fixed", "chr", "veto")), "Replace 1=403", "Test/Fixed", "fixed"},
		{"replace list", command(rep, "1", item("Test?list=Struct", "", "x")), "Replace 1=405", "", ""},
		{"delete missing", command(del, "1", target("Nope")), "Delete 1=404", "", ""},
		{"delete root", command(del, "1", target(".")), "Delete 1=405", "", ""},
		{"delete permanent", command(del, "1", target("Test/Count")), "Delete 1=405", "Test/Count", "0"},
		{"delete plugin root", command(del, "1", target("Test")), "Delete 1=405", "", ""},
		{"get missing", command(get, "1", target("Nope")), "Get 1=404", "", ""},
		{"get without access", command(get, "1", target("Test/Secret")), "Get 1=405", "", ""},
		{"get unknown list", command(get, "1", target("Test?list=Tree")), "Get 1=406", "", ""},
		{"get unknown prop", command(get, "1", target("Test?prop=Color")), "Get 1=406", "", ""},
		{"get size of interior", command(get, "1", target("Test?prop=Size")), "Get 1=406", "", ""},
		{"get leaf", command(get, "1", target("Test/Count")), "Get 1=200, Results 1", "", ""},
		{"exec missing", command(exe, "1", target("Test/Nope")), "Exec 1=404", "", ""},
		{"exec not executable", command(exe, "1", target("Test/Count")), "Exec 1=405", "Test/Count", "0"},
		{"exec outside plugins", command(exe, "1", target(".")), "Exec 1=405", "", ""},
		{"exec ok", command(exe, "1", target("Test/Op")), "Exec 1=200", "Test/Count", "1"},
		{"exec fails", command(exe, "1", item("Test/Op", "", "fail")), "Exec 1=500", "Test/Count", "0"},
		{"exec bad plugin status", command(exe, "1", item("Test/Op", "", "bogus")), "Exec 1=500", "Test/Count", "0"},
		{"exec async", command(exe, "1", item("Test/Op", "", "async")), "Exec 1=202", "Test/Count", "1"},
		{"alert generic", syncml.Command{Name: syncml.CmdAlert, CmdID: "1", Data: "1200"}, "Alert 1=200", "", ""},
		{"alert display", syncml.Command{Name: syncml.CmdAlert, CmdID: "1", Data: "1100"}, "Alert 1=406", "", ""},
		{"alert confirm", syncml.Command{Name: syncml.CmdAlert, CmdID: "1", Data: "1101"}, "Alert 1=406", "", ""},
		{"alert bad code", syncml.Command{Name: syncml.CmdAlert, CmdID: "1", Data: "x"}, "Alert 1=400", "", ""},
		{"unknown command", command("Sync", "1"), "Sync 1=406", "", ""},
		{"status command", command(syncml.CmdStatus, "1"), "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, openACL)
			if got := codes(env.run(tt.cmd)); got != tt.want {
				t.Errorf("answers = %q, want %q", got, tt.want)
			}
			if tt.uri != "" {
				if got := env.value(t, tt.uri); got != tt.value {
					t.Errorf("value of %s = %q, want %q", tt.uri, got, tt.value)
				}
			}
		})
	}
}

func TestStatusFields(t *testing.T) {
	env := newEnv(t, openACL)
	out := env.run(command(syncml.CmdReplace, "c9", item("./Test/Count", "int", "3")))
	if len(out) != 1 {
		t.Fatalf("got %d answers, want 1", len(out))
	}
	st := out[0]
	if st.Name != syncml.CmdStatus || st.MsgRef != "7" || st.CmdRef != "c9" || st.Cmd != "Replace" || st.Data != "200" {
		t.Errorf("status = %+v", st)
	}
	if len(st.TargetRefs) != 1 || st.TargetRefs[0] != "./Test/Count" {
		t.Errorf("TargetRefs = %q, want the LocURI as sent", st.TargetRefs)
	}
	if st.CmdID != "" {
		t.Errorf("CmdID = %q, want it left for the caller", st.CmdID)
	}
}

func TestNoRespOmitsStatus(t *testing.T) {
	env := newEnv(t, openACL)
	cmd := command(syncml.CmdReplace, "1", item("Test/Count", "int", "3"))
	cmd.NoResp = true
	if out := env.run(cmd); len(out) != 0 {
		t.Errorf("answers = %q, want none", codes(out))
	}
	if got := env.value(t, "Test/Count"); got != "3" {
		t.Errorf("Count = %q, want 3", got)
	}
}

func TestMultiItemCommandAllOrNothing(t *testing.T) {
	env := newEnv(t, openACL)
	out := env.run(command(syncml.CmdReplace, "1",
		item("Test/Count", "int", "5"),
		item("Test/Flag", "bool", "maybe"),
		item("Test/Fixed", "chr", "new")))
	if got := codes(out); got != "Replace 1=415" {
		t.Errorf("answers = %q, want one Status 415", got)
	}
	if got := env.value(t, "Test/Count"); got != "0" {
		t.Errorf("Count = %q, want 0 after the failed command", got)
	}
	if got := env.value(t, "Test/Fixed"); got != "fixed" {
		t.Errorf("Fixed = %q, want fixed", got)
	}
	if len(env.calls) != 0 {
		t.Errorf("Persist called %d times, want 0", len(env.calls))
	}
}

func TestGetResults(t *testing.T) {
	env := newEnv(t, openACL)
	env.run(command(syncml.CmdAdd, "1", item("Test/Blob", "b64", "AAEC")))
	out := env.run(command(syncml.CmdGet, "2",
		target("./Test/Count"), target("Test/Nope"), target("Test/Blob"), target("Test/Items"), target("Test")))
	if got := codes(out); got != "Get 2=404, Results 2" {
		t.Fatalf("answers = %q", got)
	}
	res := out[1]
	if res.MsgRef != "7" || res.CmdRef != "2" {
		t.Errorf("Results refs = %q %q, want 7 2", res.MsgRef, res.CmdRef)
	}
	want := []struct{ uri, format, data string }{
		{"./Test/Count", "int", "0"},
		{"Test/Blob", "b64", "AAEC"},
		{"Test/Items", "node", ""},
		{"Test", "node", "Blob/Count/Fixed/Flag/Items/Op/Secret/Single"},
	}
	if len(res.Items) != len(want) {
		t.Fatalf("Results has %d items, want %d", len(res.Items), len(want))
	}
	for i, w := range want {
		it := res.Items[i]
		if it.Source == nil || it.Source.LocURI != w.uri {
			t.Errorf("item %d Source = %+v, want %s", i, it.Source, w.uri)
		}
		if it.Meta == nil || it.Meta.Format != w.format {
			t.Errorf("item %d Meta = %+v, want Format %s", i, it.Meta, w.format)
		}
		if it.Data == nil || it.Data.Value != w.data {
			t.Errorf("item %d Data = %+v, want %q", i, it.Data, w.data)
		}
	}
}

func TestGetProperties(t *testing.T) {
	env := newEnv(t, openACL)
	env.run(command(syncml.CmdReplace, "1", item("Test/Fixed", "chr", "abcd")))
	tests := []struct{ target, want string }{
		{"Test?prop=Type", testMOType},
		{"Test?prop=Format", "node"},
		{"Test?prop=Name", "Test"},
		{"Test?prop=ACL", ""},
		{".?prop=ACL", openACL},
		{"Test/Fixed?prop=Size", "4"},
		{"Test/Fixed?prop=VerNo", "1"},
		{"Test/Fixed?prop=TStamp", "20231114T221320Z"},
		{"Test/Fixed?prop=Title", ""},
		{"Test/Secret?prop=Format", "chr"},
	}
	for _, tt := range tests {
		out := env.run(command(syncml.CmdGet, "2", target(tt.target)))
		if len(out) != 2 || out[0].Data != "200" {
			t.Errorf("Get %s answers = %q", tt.target, codes(out))
			continue
		}
		if got := out[1].Items[0].Data.Value; got != tt.want {
			t.Errorf("Get %s = %q, want %q", tt.target, got, tt.want)
		}
	}
}

func TestReplaceProperties(t *testing.T) {
	tests := []struct {
		name, target, data, want string
	}{
		{"title", "Test/Fixed?prop=Title", "My title", "200"},
		{"title too long", "Test/Fixed?prop=Title", string(make([]byte, 256)), "413"},
		{"acl", "Test/Fixed?prop=ACL", "Get=srv", "200"},
		{"bad acl", "Test/Fixed?prop=ACL", "Get=", "400"},
		{"empty root acl", ".?prop=ACL", "", "400"},
		{"format read-only", "Test/Fixed?prop=Format", "int", "405"},
		{"unknown prop", "Test/Fixed?prop=Color", "red", "406"},
		{"rename in plugin", "Test/Items?prop=Name", "Things", "405"},
		{"rename root", ".?prop=Name", "x", "405"},
		{"rename free node", "Free?prop=Name", "Other", "200"},
		{"rename to sibling", "Free?prop=Name", "Taken", "418"},
		{"rename invalid", "Free?prop=Name", "a/b", "400"},
		{"missing node", "Nope?prop=Title", "x", "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, openACL)
			env.run(command(syncml.CmdAdd, "1", item("Free", "", "x"), item("Taken", "", "y")))
			out := env.run(command(syncml.CmdReplace, "2", item(tt.target, "", tt.data)))
			if len(out) != 1 || out[0].Data != tt.want {
				t.Errorf("answers = %q, want Replace 2=%s", codes(out), tt.want)
			}
		})
	}
}

func TestRenameMovesValue(t *testing.T) {
	env := newEnv(t, openACL)
	env.run(command(syncml.CmdAdd, "1", item("Free", "", "x")))
	env.run(command(syncml.CmdReplace, "2", item("Free?prop=Name", "", "Other")))
	if got := env.value(t, "Other"); got != "x" {
		t.Errorf("Other = %q, want x", got)
	}
	if env.node(t, "Free") != nil {
		t.Error("Free still exists after the rename")
	}
}

func TestDeleteSubtree(t *testing.T) {
	env := newEnv(t, openACL)
	env.run(command(syncml.CmdAdd, "1", item("Test/Items/a", "node"), item("Test/Items/a/Opt", "", "o")))
	out := env.run(command(syncml.CmdDelete, "2", target("Test/Items/a")))
	if got := codes(out); got != "Delete 2=200" {
		t.Errorf("answers = %q", got)
	}
	if n := env.node(t, "Test/Items"); n == nil || len(n.Children) != 0 {
		t.Errorf("Test/Items = %+v, want no children", n)
	}
}

func TestDeleteVetoedByPlugin(t *testing.T) {
	env := newEnv(t, openACL)
	env.run(command(syncml.CmdAdd, "1", item("Test/Items/keep", "node")))
	out := env.run(command(syncml.CmdDelete, "2", target("Test/Items/keep")))
	if got := codes(out); got != "Delete 2=403" {
		t.Errorf("answers = %q", got)
	}
	if env.node(t, "Test/Items/keep") == nil {
		t.Error("vetoed Delete removed the node")
	}
}

func TestAddOccurrenceLimit(t *testing.T) {
	env := newEnv(t, openACL)
	env.run(command(syncml.CmdAdd, "1", item("Test/Single/a", "", "x")))
	out := env.run(command(syncml.CmdAdd, "2", item("Test/Single/b", "", "y")))
	if got := codes(out); got != "Add 2=405" {
		t.Errorf("answers = %q, want Add 2=405", got)
	}
}

func TestAddPassesChangeToPlugin(t *testing.T) {
	env := newEnv(t, openACL)
	env.run(command(syncml.CmdAdd, "1", item("Test/Items/a/Opt", "", "o")))
	var got []string
	for _, ch := range env.plugin.changes {
		got = append(got, string(ch.Op)+" "+ch.URI.String())
	}
	want := "Add Test/Items/a, Add Test/Items/a/Opt"
	if joined := join(got); joined != want {
		t.Errorf("changes = %q, want %q", joined, want)
	}
	if v := env.value(t, "Test/Items/a/Value"); v != "v" {
		t.Errorf("implicit parent default child Value = %q, want v", v)
	}
	if ch := env.plugin.changes[0]; ch.ServerID != "srv" || ch.Old != nil || ch.New == nil {
		t.Errorf("change = %+v, want ServerID srv, no Old, a New", ch)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

func TestCopy(t *testing.T) {
	tests := []struct {
		name, src, dst, want, check, value string
	}{
		{"to new node", "Test/Fixed", "Copied", "200", "Copied", "fixed"},
		{"over existing leaf", "Test/Fixed", "Test/Items/a/Value", "200", "Test/Items/a/Value", "fixed"},
		{"format mismatch", "Test/Count", "Test/Fixed", "415", "Test/Fixed", "fixed"},
		{"missing source", "Nope", "Copied", "404", "", ""},
		{"interior source", "Test/Items", "Copied", "405", "", ""},
		{"source without get", "Test/Secret", "Copied", "405", "", ""},
		{"interior target", "Test/Fixed", "Test/Items", "405", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, openACL)
			env.run(command(syncml.CmdAdd, "1", item("Test/Items/a", "node")))
			it := item(tt.dst, "")
			it.Source = &syncml.Locator{LocURI: tt.src}
			out := env.run(command(syncml.CmdCopy, "2", it))
			if len(out) != 1 || out[0].Data != tt.want {
				t.Errorf("answers = %q, want Copy 2=%s", codes(out), tt.want)
			}
			if len(out) == 1 && (len(out[0].SourceRefs) != 1 || out[0].SourceRefs[0] != tt.src) {
				t.Errorf("SourceRefs = %q, want %q", out[0].SourceRefs, tt.src)
			}
			if tt.check != "" {
				if got := env.value(t, tt.check); got != tt.value {
					t.Errorf("%s = %q, want %q", tt.check, got, tt.value)
				}
			}
		})
	}
}

func TestExecRequest(t *testing.T) {
	env := newEnv(t, openACL)
	cmd := command(syncml.CmdExec, "1", item("./Test/Op", "", "async"))
	cmd.Correlator = "c42"
	env.run(cmd)
	if len(env.plugin.execs) != 1 {
		t.Fatalf("plugin got %d Execs, want 1", len(env.plugin.execs))
	}
	req := env.plugin.execs[0]
	if req.URI.String() != "Test/Op" || req.Correlator != "c42" || req.Data != "async" || req.ServerID != "srv" {
		t.Errorf("ExecRequest = %+v", req)
	}
	if len(env.calls) != 1 || len(env.calls[0].alerts) != 1 || env.calls[0].alerts[0].Correlator != "c42" {
		t.Errorf("persist calls = %+v, want one with the queued alert", env.calls)
	}
}
