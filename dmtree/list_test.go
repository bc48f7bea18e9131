package dmtree

import (
	"strings"
	"testing"

	"github.com/virmo/virmo/syncml"
)

// listItems runs a Get of uri as server and returns the status code and
// the items of its Results.
func listItems(t *testing.T, env *testEnv, server, uri string) (string, []syncml.Item) {
	t.Helper()
	out := env.runAs(server, command(syncml.CmdGet, "1", target(uri)))
	if len(out) == 0 {
		t.Fatalf("Get %s got no answer", uri)
	}
	if len(out) == 1 {
		return out[0].Data, nil
	}
	return out[0].Data, out[1].Items
}

// describeItems lists items as "LocURI format type =data" lines.
func describeItems(items []syncml.Item) string {
	var lines []string
	for _, it := range items {
		line := it.Source.LocURI
		if it.Meta != nil {
			line += " " + it.Meta.Format + " " + it.Meta.Type
		}
		if it.Data != nil {
			line += " =" + it.Data.Value
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func TestGetListStruct(t *testing.T) {
	env := newEnv(t, openACL)
	env.run(command(syncml.CmdAdd, "1", item("Test/Items/a", "node")))
	env.run(command(syncml.CmdAdd, "2", item("Test/Items/a/Opt", "chr", "o")))
	tests := []struct {
		uri  string
		want string
	}{
		{"./Test/Items?list=Struct", strings.Join([]string{
			"./Test/Items node ",
			"./Test/Items/a node ",
			"./Test/Items/a/Opt chr ",
			"./Test/Items/a/Value chr ",
		}, "\n")},
		{"Test/Items?list=StructData", strings.Join([]string{
			"Test/Items node ",
			"Test/Items/a node ",
			"Test/Items/a/Opt chr  =o",
			"Test/Items/a/Value chr  =v",
		}, "\n")},
		{"Test/Count?list=StructData", "Test/Count int  =0"},
		{"Test?list=Struct", strings.Join([]string{
			"Test node " + testMOType,
			"Test/Blob b64 ",
			"Test/Count int ",
			"Test/Fixed chr ",
			"Test/Flag bool ",
			"Test/Items node ",
			"Test/Items/a node ",
			"Test/Items/a/Opt chr ",
			"Test/Items/a/Value chr ",
			"Test/Single node ",
		}, "\n")},
	}
	env.run(command(syncml.CmdAdd, "3", item("Test/Blob", "b64", "AAE=")))
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			code, items := listItems(t, env, "srv", tt.uri)
			if code != "200" {
				t.Fatalf("status = %s, want 200", code)
			}
			if got := describeItems(items); got != tt.want {
				t.Errorf("items =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestGetListOmitsUnreadable(t *testing.T) {
	env := aclEnv(t)

	_, items := listItems(t, env, "other", "Test/Items?list=Struct")
	if got := describeItems(items); got != "Test/Items node " {
		t.Errorf("items for other server =\n%s\nwant only Test/Items", got)
	}

	_, items = listItems(t, env, "srv", "Test/Items?list=Struct")
	if got := describeItems(items); !strings.Contains(got, "Test/Items/a/Value") {
		t.Errorf("items for owner =\n%s\nwant Test/Items/a/Value", got)
	}

	_, items = listItems(t, env, "srv", "Test?list=StructData")
	got := describeItems(items)
	for _, hidden := range []string{"Test/Secret", "Test/Op"} {
		if strings.Contains(got, hidden) {
			t.Errorf("items list %s, which has no Get access type", hidden)
		}
	}
}

func TestGetListStatuses(t *testing.T) {
	tests := []struct {
		server string
		uri    string
		want   string
	}{
		{"srv", "Test?list=Tree", "406"},
		{"srv", "Test?list=TNDS+Color", "406"},
		{"srv", "Test?list=TNDS+ACL-Format", "406"},
		{"srv", "Test?list=TNDS+", "406"},
		{"srv", "Test?list=TNDSX", "406"},
		{"srv", "Nope?list=Struct", "404"},
		{"srv", "Test/Secret?list=Struct", "405"},
		{"other", "Test/Items/a?list=TNDS", "425"},
		{"srv", "Test/Items/a?list=TNDS", "200"},
	}
	env := aclEnv(t)
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			if code, _ := listItems(t, env, tt.server, tt.uri); code != tt.want {
				t.Errorf("status = %s, want %s", code, tt.want)
			}
		})
	}
}

// getTNDS runs a Get of uri and decodes the TNDS document of its Results.
func getTNDS(t *testing.T, env *testEnv, uri string) (syncml.Item, []*TNDSNode) {
	t.Helper()
	code, items := listItems(t, env, "srv", uri)
	if code != "200" || len(items) != 1 {
		t.Fatalf("Get %s: status %s with %d items, want 200 with 1", uri, code, len(items))
	}
	nodes, err := DecodeTNDS([]byte(items[0].Data.Value))
	if err != nil {
		t.Fatalf("DecodeTNDS of the Results: %v\n%s", err, items[0].Data.Value)
	}
	return items[0], nodes
}

func TestGetListTNDS(t *testing.T) {
	env := newEnv(t, openACL)
	env.run(command(syncml.CmdAdd, "1", item("Test/Blob", "b64", "AAE=")))

	it, nodes := getTNDS(t, env, "Test?list=TNDS")
	if it.Meta == nil || it.Meta.Type != TypeTNDSXML || it.Meta.Format != "xml" {
		t.Errorf("Meta = %+v, want Format xml and Type %s", it.Meta, TypeTNDSXML)
	}
	if !it.Data.XML {
		t.Error("Data.XML = false, want the document as XML content")
	}
	if len(nodes) != 1 || nodes[0].Name != "Test" || nodes[0].Path != "." {
		t.Fatalf("top-level nodes = %+v, want Test with Path .", nodes)
	}
	root := nodes[0]
	if root.Props.Type != testMOType || !root.Props.TypeDDFName {
		t.Errorf("Test Type = %q (DDFName %v), want DDFName %s",
			root.Props.Type, root.Props.TypeDDFName, testMOType)
	}
	var names []string
	for _, c := range root.Children {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, "/"); got != "Blob/Count/Fixed/Flag/Items/Single" {
		t.Errorf("children = %s, want the readable ones", got)
	}
	blob := root.Children[0]
	if string(blob.Value) != "\x00\x01" || blob.Props.Format != FormatBin {
		t.Errorf("Blob = %q format %s, want \\x00\\x01 bin", blob.Value, blob.Props.Format)
	}
	count := root.Children[1]
	if count.Props.ACL == nil || count.Props.VerNo == "" || count.Props.Size != "1" {
		t.Errorf("Count props = %+v, want ACL, VerNo and Size 1", count.Props)
	}
}

func TestGetListTNDSPropertyLists(t *testing.T) {
	env := newEnv(t, openACL)
	tests := []struct {
		list       string
		wantACL    bool
		wantValue  bool
		wantFormat bool
	}{
		{"TNDS", true, true, true},
		{"TNDS+ACL+Format", true, false, true},
		{"TNDS+Value", false, true, false},
		{"TNDS-Value", true, false, true},
		{"TNDS-ACL-Format", false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			_, nodes := getTNDS(t, env, "Test/Count?list="+tt.list)
			n := nodes[0]
			if got := n.Props.ACL != nil; got != tt.wantACL {
				t.Errorf("ACL present = %v, want %v", got, tt.wantACL)
			}
			if got := n.Value != nil; got != tt.wantValue {
				t.Errorf("Value present = %v, want %v", got, tt.wantValue)
			}
			if got := n.Props.Format != ""; got != tt.wantFormat {
				t.Errorf("Format present = %v, want %v", got, tt.wantFormat)
			}
			if n.Path != "./Test" {
				t.Errorf("Path = %q, want ./Test", n.Path)
			}
		})
	}
}
