package dmtree

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/virmo/virmo/internal/corpus"
	"github.com/virmo/virmo/syncml"
)

// tndsXML wraps Node elements in a MgmtTree.
func tndsXML(nodes string) string {
	return `<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>` + nodes + `</MgmtTree>`
}

func TestDecodeTNDSRejects(t *testing.T) {
	leaf := `<Node><NodeName>A</NodeName><Value>x</Value></Node>`
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"not xml", "<MgmtTree><Node>", "invalid TNDS document"},
		{"empty input", "", "invalid TNDS document"},
		{"other root", "<SyncML/>", "invalid TNDS document"},
		{"bad VerDTD", `<MgmtTree><VerDTD>2.0</VerDTD></MgmtTree>`, "VerDTD"},
		{"no NodeName", tndsXML(`<Node><Value>x</Value></Node>`), "no NodeName"},
		{"empty NodeName", tndsXML(`<Node><NodeName></NodeName></Node>`), "invalid TNDS NodeName"},
		{"slash in NodeName", tndsXML(`<Node><NodeName>a/b</NodeName></Node>`), "invalid TNDS NodeName"},
		{"dot NodeName", tndsXML(`<Node><NodeName>..</NodeName></Node>`), "invalid TNDS NodeName"},
		{"duplicate siblings", tndsXML(leaf + leaf), "appears twice"},
		{"bad path", tndsXML(`<Node><NodeName>A</NodeName><Path>./x/</Path></Node>`), "invalid TNDS Path"},
		{"bad ACL", tndsXML(`<Node><NodeName>A</NodeName><RTProperties><ACL>Get</ACL></RTProperties></Node>`), "invalid ACL"},
		{"unknown format", tndsXML(`<Node><NodeName>A</NodeName><RTProperties><Format><str/></Format></RTProperties></Node>`), "unknown format"},
		{"two formats", tndsXML(`<Node><NodeName>A</NodeName><RTProperties><Format><chr/><int/></Format></RTProperties></Node>`), "expected one"},
		{"empty format", tndsXML(`<Node><NodeName>A</NodeName><RTProperties><Format></Format></RTProperties></Node>`), "expected one"},
		{"two types", tndsXML(`<Node><NodeName>A</NodeName><RTProperties><Type><MIME>a</MIME><DDFName>b</DDFName></Type></RTProperties></Node>`), "both MIME and DDFName"},
		{"value and children", tndsXML(`<Node><NodeName>A</NodeName><Value>x</Value>` + leaf + `</Node>`), "both a Value and children"},
		{"bad base64", tndsXML(`<Node><NodeName>A</NodeName><RTProperties><Format><b64/></Format></RTProperties><Value>!!</Value></Node>`), "b64"},
		{"trailing element", tndsXML(leaf) + "<More/>", "content after MgmtTree"},
		{"trailing text", tndsXML(leaf) + "junk", "text after MgmtTree"},
		{"bare ampersand", tndsXML(`<Node><NodeName>A&B</NodeName></Node>`), "invalid TNDS document"},
		{"too deep", tndsXML(strings.Repeat("<Node><NodeName>n</NodeName>", MaxDepth+1) +
			strings.Repeat("</Node>", MaxDepth+1)), "deeper than"},
		{"too many nodes", tndsXML(manyNodes(MaxTNDSNodes + 1)), "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes, err := DecodeTNDS([]byte(tt.doc))
			if err == nil {
				t.Fatalf("DecodeTNDS = %d nodes, want an error with %q", len(nodes), tt.want)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Code != 400 {
				t.Errorf("error = %v, want a 400 *StatusError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func manyNodes(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("<Node><NodeName>n" + strconv.Itoa(i) + "</NodeName></Node>")
	}
	return "<Node><NodeName>top</NodeName>" + b.String() + "</Node>"
}

func TestTNDSRoundTrip(t *testing.T) {
	acl := "Get=*"
	empty := ""
	nodes := []*TNDSNode{{
		Name: "Root", Path: "./A",
		Props: TNDSProps{ACL: &acl, Format: FormatNode, Type: "urn:x", TypeDDFName: true},
		Children: []*TNDSNode{
			{Name: "Bin", Props: TNDSProps{Format: FormatBin, ACL: &empty}, Value: []byte{0, 1, 0xff}},
			{Name: "Text", Props: TNDSProps{Format: FormatChr, Type: "text/plain", Title: "t <&>",
				Size: "3", TStamp: "20240101T000000Z", VerNo: "2"}, Value: []byte("a\r\n")},
			{Name: "Null", Props: TNDSProps{Format: FormatNull}, Value: []byte{}},
		},
	}}
	doc, err := EncodeTNDS(nodes)
	if err != nil {
		t.Fatalf("EncodeTNDS: %v", err)
	}
	got, err := DecodeTNDS(doc)
	if err != nil {
		t.Fatalf("DecodeTNDS: %v\n%s", err, doc)
	}
	again, err := EncodeTNDS(got)
	if err != nil {
		t.Fatalf("EncodeTNDS of the decoded nodes: %v", err)
	}
	if !bytes.Equal(doc, again) {
		t.Errorf("round trip changed the document:\n%s\n%s", doc, again)
	}
	if v := got[0].Children[0].Value; !bytes.Equal(v, []byte{0, 1, 0xff}) {
		t.Errorf("bin value = %x, want 0001ff", v)
	}
	if v := got[0].Children[1].Value; string(v) != "a\r\n" {
		t.Errorf("chr value = %q, want a\\r\\n", v)
	}
}

func TestEncodeTNDSRejectsControlCharacters(t *testing.T) {
	_, err := EncodeTNDS([]*TNDSNode{{Name: "A", Value: []byte("a\x01")}})
	if err == nil {
		t.Fatal("EncodeTNDS accepted a value with U+0001")
	}
}

func TestDecodeTNDSCorpus(t *testing.T) {
	path := filepath.Join(corpus.Dir(t), "ddf", "libwbxml-ddf-001-tnds-email.ddf")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := DecodeTNDS(data)
	if err != nil {
		t.Fatalf("DecodeTNDS: %v", err)
	}
	if len(nodes) != 1 || nodes[0].Name != "E-Mail" {
		t.Fatalf("nodes = %+v, want E-Mail", nodes)
	}
	pop := nodes[0].Children[0]
	if len(pop.Children) != 3 || string(pop.Children[0].Value) != "mail.Operatorx.com" {
		t.Errorf("POP3 = %+v, want three leaves, POPServer first", pop)
	}
}

func FuzzDecodeTNDS(f *testing.F) {
	f.Add([]byte(tndsXML(`<Node><NodeName>A</NodeName><RTProperties><Format><b64/></Format></RTProperties><Value>AAE=</Value></Node>`)))
	f.Add([]byte(tndsXML(`<Node><NodeName>A</NodeName><Path>./B</Path><Node><NodeName>C</NodeName></Node></Node>`)))
	f.Add([]byte("<MgmtTree/>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		nodes, err := DecodeTNDS(data)
		if err != nil {
			return
		}
		doc, err := EncodeTNDS(nodes)
		if err != nil {
			// The XML decoder rejects characters XML 1.0 cannot carry,
			// so decoded text always encodes again.
			t.Fatalf("EncodeTNDS of decoded nodes: %v", err)
		}
		if _, err := DecodeTNDS(doc); err != nil {
			t.Fatalf("DecodeTNDS of re-encoded nodes: %v\n%s", err, doc)
		}
	})
}

// tndsCommand returns an Add or Replace of a TNDS document at uri.
func tndsCommand(name, uri, doc string) syncml.Command {
	it := item(uri, "xml", doc)
	it.Meta.Type = TypeTNDSXML
	return command(name, "1", it)
}

func TestAddTNDS(t *testing.T) {
	node := func(name, inner string) string {
		return "<Node><NodeName>" + name + "</NodeName>" + inner + "</Node>"
	}
	value := func(name, v string) string { return node(name, "<Value>"+v+"</Value>") }
	tests := []struct {
		name    string
		uri     string
		doc     string
		want    string
		checks  map[string]string
		missing []string
	}{
		{"item with children", "Test/Items",
			node("b", value("Value", "x")+value("Opt", "o")), "200",
			map[string]string{"Test/Items/b/Value": "x", "Test/Items/b/Opt": "o"}, nil},
		{"path overrides target", ".",
			node("c", `<Path>./Test/Items</Path>`+value("Opt", "p")), "200",
			map[string]string{"Test/Items/c/Opt": "p", "Test/Items/c/Value": "v"}, nil},
		{"default value kept", "Test/Items",
			node("d", ""), "200", map[string]string{"Test/Items/d/Value": "v"}, nil},
		{"outside plugins", ".",
			node("Free", value("Leaf", "1")+node("Sub", value("Deep", "2"))), "200",
			map[string]string{"Free/Leaf": "1", "Free/Sub/Deep": "2"}, nil},
		{"undefined child", "Test/Items",
			node("e", value("Opt", "o")+value("Bad", "x")), "405", nil,
			[]string{"Test/Items/e"}},
		{"existing node", "Test",
			node("Items", ""), "418", nil, nil},
		{"format mismatch", "Test/Items",
			node("f", `<Node><NodeName>Opt</NodeName><RTProperties><Format><int/></Format></RTProperties><Value>1</Value></Node>`),
			"415", nil, []string{"Test/Items/f"}},
		{"bad value", ".",
			node("G", `<RTProperties><Format><int/></Format></RTProperties><Value>x</Value>`),
			"415", nil, []string{"G"}},
		{"second top-level fails", ".",
			value("H", "1") + node("Test", ""), "418", nil, []string{"H"}},
		{"bad document", ".", "<MgmtTree><Node>", "400", nil, nil},
		{"ACL applied", ".",
			node("I", `<RTProperties><ACL>Get=srv&amp;Replace=srv</ACL></RTProperties>`+value("L", "1")),
			"200", map[string]string{"I/L": "1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, openACL)
			before := env.snapshot(t)
			out := env.run(tndsCommand(syncml.CmdAdd, tt.uri, tndsXML(tt.doc)))
			if got := out[0].Data; got != tt.want {
				t.Fatalf("status = %s, want %s", got, tt.want)
			}
			for uri, want := range tt.checks {
				if got := env.value(t, uri); got != want {
					t.Errorf("%s = %q, want %q", uri, got, want)
				}
			}
			for _, uri := range tt.missing {
				if env.node(t, uri) != nil {
					t.Errorf("%s exists after a failed Add", uri)
				}
			}
			if tt.want != "200" && env.snapshot(t) != before {
				t.Error("failed Add changed the tree")
			}
		})
	}
}

func TestAddTNDSSetsACL(t *testing.T) {
	env := newEnv(t, openACL)
	doc := `<Node><NodeName>I</NodeName><RTProperties><ACL>Get=srv</ACL></RTProperties></Node>`
	env.run(tndsCommand(syncml.CmdAdd, ".", tndsXML(doc)))
	if n := env.node(t, "I"); n == nil || n.ACL != "Get=srv" {
		t.Errorf("node I = %+v, want ACL Get=srv", n)
	}
}

func TestAddTNDSChecksACL(t *testing.T) {
	env := aclEnv(t)
	doc := `<Node><NodeName>Opt</NodeName><Value>o</Value></Node>`
	out := env.runAs("other", tndsCommand(syncml.CmdAdd, "Test/Items/a", tndsXML(doc)))
	if got := out[0].Data; got != "425" {
		t.Errorf("status for other server = %s, want 425", got)
	}
	out = env.runAs("srv", tndsCommand(syncml.CmdAdd, "Test/Items/a", tndsXML(doc)))
	if got := out[0].Data; got != "200" {
		t.Errorf("status for owner = %s, want 200", got)
	}
}

func TestReplaceTNDS(t *testing.T) {
	node := func(name, inner string) string {
		return "<Node><NodeName>" + name + "</NodeName>" + inner + "</Node>"
	}
	value := func(name, v string) string { return node(name, "<Value>"+v+"</Value>") }
	tests := []struct {
		name    string
		uri     string
		doc     string
		want    string
		checks  map[string]string
		missing []string
	}{
		{"value replaced and child deleted", "Test/Items",
			node("a", value("Value", "new")), "200",
			map[string]string{"Test/Items/a/Value": "new"}, []string{"Test/Items/a/Opt"}},
		{"new child added", "Test",
			node("Items", node("a", value("Value", "v")+value("Opt", "old"))+node("b", value("Opt", "n"))), "200",
			map[string]string{"Test/Items/a/Opt": "old", "Test/Items/b/Opt": "n"}, nil},
		{"value without Replace access", "Test/Items",
			node("a", value("Value", "v")+value("Opt", "o")), "405", nil, nil},
		{"sibling deleted", "Test",
			node("Items", node("b", "")), "200",
			map[string]string{"Test/Items/b/Value": "v"}, []string{"Test/Items/a"}},
		{"value absent kept", "Test/Items",
			node("a", node("Value", "")+value("Opt", "old")), "200",
			map[string]string{"Test/Items/a/Value": "v"}, nil},
		{"missing top node", "Test/Items", node("zz", ""), "404", nil, nil},
		{"bad value", "Test",
			value("Count", "x"), "415", nil, nil},
		{"read-only leaf changed", "Test/Items",
			node("a", value("Value", "w")+node("Opt", `<RTProperties><Format><int/></Format></RTProperties>`)), "415", nil, nil},
		{"permanent child missing", ".",
			node("Test", node("Items", "")), "405", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, openACL)
			env.run(command(syncml.CmdAdd, "1", item("Test/Items/a", "node")))
			env.run(command(syncml.CmdAdd, "2", item("Test/Items/a/Opt", "chr", "old")))
			before := env.snapshot(t)
			out := env.run(tndsCommand(syncml.CmdReplace, tt.uri, tndsXML(tt.doc)))
			if got := out[0].Data; got != tt.want {
				t.Fatalf("status = %s, want %s", got, tt.want)
			}
			for uri, want := range tt.checks {
				if got := env.value(t, uri); got != want {
					t.Errorf("%s = %q, want %q", uri, got, want)
				}
			}
			for _, uri := range tt.missing {
				if env.node(t, uri) != nil {
					t.Errorf("%s exists, want it deleted", uri)
				}
			}
			if tt.want != "200" && env.snapshot(t) != before {
				t.Error("failed Replace changed the tree")
			}
		})
	}
}

func TestReplaceTNDSRoundTrip(t *testing.T) {
	env := newEnv(t, openACL)
	env.run(command(syncml.CmdAdd, "1", item("Test/Items/a", "node")))
	env.run(command(syncml.CmdAdd, "2", item("Test/Blob", "b64", "AAE=")))
	before := env.snapshot(t)

	it, _ := getTNDS(t, env, "Test?list=TNDS")
	out := env.run(tndsCommand(syncml.CmdReplace, ".", it.Data.Value))
	if got := out[0].Data; got != "200" {
		t.Fatalf("Replace with the document of a TNDS Get: status %s, want 200", got)
	}
	if env.snapshot(t) != before {
		t.Error("Replace with an unchanged document changed the tree")
	}
	if env.node(t, "Test/Secret") == nil || env.node(t, "Test/Op") == nil {
		t.Error("Replace deleted nodes the server cannot Get")
	}
}
