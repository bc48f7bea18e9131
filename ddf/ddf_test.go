package ddf

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/internal/corpus"
	"github.com/virmo/virmo/mo/devdetail"
	"github.com/virmo/virmo/mo/devinfo"
	"github.com/virmo/virmo/mo/dmacc"
	"github.com/virmo/virmo/mo/virmo"
)

// pluginDefinitions returns the definitions of the MOs the agent mounts.
func pluginDefinitions() map[string]*dmtree.NodeDef {
	return map[string]*dmtree.NodeDef{
		"DevInfo":   devinfo.New(devinfo.Info{DevID: "IMEI:1", Man: "m", Lang: "en"}).Definition(),
		"DevDetail": devdetail.New(devdetail.Detail{DevTyp: "laptop"}).Definition(),
		"DMAcc":     dmacc.New().Definition(),
		"VirMO":     virmo.New(nil, virmo.Options{}).Definition(),
	}
}

// normalized returns a copy of def as Unmarshal reads it back from
// Marshal: the engine's format filled in, DefaultLeafType for leaves
// without Type, and nil for empty child lists.
func normalized(def *dmtree.NodeDef) *dmtree.NodeDef {
	c := *def
	c.Format = effectiveFormat(def)
	if c.Format != dmtree.FormatNode && c.Type == "" {
		c.Type = DefaultLeafType
	}
	c.Children = nil
	for _, child := range def.Children {
		c.Children = append(c.Children, normalized(child))
	}
	return &c
}

func TestMarshalRoundTrip(t *testing.T) {
	for name, def := range pluginDefinitions() {
		t.Run(name, func(t *testing.T) {
			doc, err := Marshal(Options{Man: "VirMO", Mod: "test"}, def)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			got, err := Unmarshal(doc)
			if err != nil {
				t.Fatalf("Unmarshal: %v\n%s", err, doc)
			}
			if len(got) != 1 {
				t.Fatalf("Unmarshal returned %d nodes, want 1", len(got))
			}
			if want := normalized(def); !reflect.DeepEqual(got[0], want) {
				t.Errorf("round trip differs:\n got %s\nwant %s", describe(got[0], ""), describe(want, ""))
			}
		})
	}
}

// describe lists a definition tree one node per line.
func describe(def *dmtree.NodeDef, indent string) string {
	line := indent + def.Name + " " + string(def.Format) + " " + string(def.Occurrence) + " " +
		string(def.Scope) + " " + def.Type + " " + def.Default + "\n"
	for _, c := range def.Children {
		line += describe(c, indent+"  ")
	}
	return line
}

func TestMarshalDocument(t *testing.T) {
	def := &dmtree.NodeDef{Name: "A", Type: "urn:x", Access: dmtree.AccessGet,
		Children: []*dmtree.NodeDef{{Access: dmtree.AccessAdd | dmtree.AccessGet,
			Occurrence: dmtree.OccurrenceZeroOrMore, Description: "a < b"}}}
	doc, err := Marshal(Options{Man: "M", Path: "."}, def)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<MgmtTree xmlns="syncml:dmddf1.2">`,
		"<VerDTD>1.2</VerDTD>",
		"<Man>M</Man>",
		"<Path>.</Path>",
		"<NodeName></NodeName>",
		"<DDFName>urn:x</DDFName>",
		"<MIME>text/plain</MIME>",
		"<Description>a &lt; b</Description>",
		"<AccessType>\n          <Add/>\n          <Get/>\n",
		"<ZeroOrMore/>",
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("document lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(string(doc), "<Mod>") {
		t.Error("document has a Mod element, want none for an empty Mod")
	}
}

func TestMarshalRejects(t *testing.T) {
	if _, err := Marshal(Options{}, nil); err == nil {
		t.Error("Marshal accepted a nil definition")
	}
	if _, err := Marshal(Options{}, &dmtree.NodeDef{Name: "A", Description: "\x01"}); err == nil {
		t.Error("Marshal accepted a control character")
	}
}

// virmoRow is one row of the VirMO tree table of the design: a node below
// VirMO/<x> ("" for <x> itself).
type virmoRow struct {
	path       string
	format     dmtree.Format
	occurrence dmtree.Occurrence
	access     dmtree.AccessType
}

const (
	get     = dmtree.AccessGet
	replace = dmtree.AccessReplace
	add     = dmtree.AccessAdd
	del     = dmtree.AccessDelete
	exec    = dmtree.AccessExec
	one     = dmtree.OccurrenceOne
	opt     = dmtree.OccurrenceZeroOrOne
)

var virmoTable = []virmoRow{
	{"", dmtree.FormatNode, dmtree.OccurrenceZeroOrMore, get | add | del},
	{"VMID", dmtree.FormatChr, one, get},
	{"Name", dmtree.FormatChr, opt, get | replace},
	{"Description", dmtree.FormatChr, opt, get | replace},
	{"State", dmtree.FormatInt, one, get},
	{"Config/VCPUs", dmtree.FormatInt, one, get | replace},
	{"Config/MemoryMiB", dmtree.FormatInt, one, get | replace},
	{"Config/Image", dmtree.FormatChr, opt, get | replace},
	{"Config/AutoStart", dmtree.FormatBool, one, get | replace},
	{"Operations/Start", dmtree.FormatNull, one, exec},
	{"Operations/Stop", dmtree.FormatNull, one, exec},
	{"Operations/Pause", dmtree.FormatNull, one, exec},
	{"Operations/Resume", dmtree.FormatNull, one, exec},
	{"Operations/Lock", dmtree.FormatNull, one, exec},
	{"Operations/Unlock", dmtree.FormatNull, one, exec},
	{"Operations/Remove", dmtree.FormatNull, one, exec},
	{"LockParams", dmtree.FormatNode, one, get},
	{"LockParams/State", dmtree.FormatInt, one, get},
	{"LockParams/UserUnlock", dmtree.FormatBool, one, get | replace},
	{"LockParams/UnlockAuth", dmtree.FormatNode, opt, get | add | del},
	{"LockParams/UnlockAuth/AuthType", dmtree.FormatInt, one, get | replace},
	{"LockParams/UnlockAuth/AuthData", dmtree.FormatBin, one, get | replace},
	{"LockParams/UnlockAuth/AuthDigest", dmtree.FormatBin, one, get | replace},
	{"DM", dmtree.FormatNode, one, get},
	{"Ext/LockGeneration", dmtree.FormatInt, one, get},
	{"Ext/UnlockAttempts", dmtree.FormatInt, one, get},
	{"Ext/MaxUnlockAttempts", dmtree.FormatInt, one, get | replace},
	{"Ext/SingleUseUnlock", dmtree.FormatBool, one, get | replace},
}

// findPath follows slash-separated names from def.
func findPath(def *dmtree.NodeDef, path string) *dmtree.NodeDef {
	if path == "" {
		return def
	}
	for _, name := range strings.Split(path, "/") {
		var next *dmtree.NodeDef
		for _, c := range def.Children {
			if c.Name == name {
				next = c
			}
		}
		if next == nil {
			return nil
		}
		def = next
	}
	return def
}

func TestVirMODDFMatchesDesignTable(t *testing.T) {
	doc, err := Marshal(Options{}, pluginDefinitions()["VirMO"])
	if err != nil {
		t.Fatal(err)
	}
	defs, err := Unmarshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	root := defs[0]
	if root.Name != "VirMO" || root.Type != virmo.Type || root.Access != get {
		t.Errorf("root = %s %s access %d, want VirMO %s Get", root.Name, root.Type, root.Access, virmo.Type)
	}
	if root.Scope != dmtree.ScopePermanent {
		t.Errorf("root Scope = %s, want Permanent", root.Scope)
	}
	if len(root.Children) != 1 || root.Children[0].Name != "" {
		t.Fatalf("VirMO children = %d, want one runtime-named <x>", len(root.Children))
	}
	x := root.Children[0]
	for _, row := range virmoTable {
		t.Run("x/"+row.path, func(t *testing.T) {
			def := findPath(x, row.path)
			if def == nil {
				t.Fatalf("DDF has no node VirMO/<x>/%s", row.path)
			}
			if def.Format != row.format {
				t.Errorf("format = %s, want %s", def.Format, row.format)
			}
			if def.Occurrence != row.occurrence {
				t.Errorf("occurrence = %s, want %s", def.Occurrence, row.occurrence)
			}
			if def.Access != row.access {
				t.Errorf("access = %b, want %b", def.Access, row.access)
			}
		})
	}
	lawmo := findPath(x, "DM/LAWMO")
	if lawmo == nil || lawmo.Type != virmo.LAWMOType {
		t.Errorf("VirMO/<x>/DM/LAWMO = %+v, want Type %s", lawmo, virmo.LAWMOType)
	}
}

func TestUnmarshalCorpus(t *testing.T) {
	dir := filepath.Join(corpus.Dir(t), "ddf")
	tests := []struct {
		file string
		root string
	}{
		{"motorola-android-syncmldm-full-tree.ddf", "."},
		{"msft-DMAcc-ddf.xml", "DMAcc"},
		{"msft-DevDetail-ddf.xml", "DevDetail"},
		{"msft-DevInfo-ddf.xml", "DevInfo"},
		{"msft-RemoteLock-ddf.xml", "RemoteLock"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defs, err := Unmarshal(data)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if len(defs) == 0 || defs[0].Name != tt.root {
				t.Fatalf("top-level nodes = %d, want %s first", len(defs), tt.root)
			}
			if len(defs[0].Children) == 0 {
				t.Error("root has no children")
			}
			if defs[0].Format != dmtree.FormatNode {
				t.Errorf("root format = %q, want node", defs[0].Format)
			}
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	node := func(props string) string {
		return `<MgmtTree><Node><NodeName>A</NodeName><DFProperties>` + props +
			`</DFProperties></Node></MgmtTree>`
	}
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"not xml", "<MgmtTree>", "invalid DDF document"},
		{"other root", "<SyncML/>", "invalid DDF document"},
		{"no NodeName", "<MgmtTree><Node><DFProperties/></Node></MgmtTree>", "no NodeName"},
		{"no DFProperties", "<MgmtTree><Node><NodeName>A</NodeName></Node></MgmtTree>", "no DFProperties"},
		{"slash in name", "<MgmtTree><Node><NodeName>a/b</NodeName><DFProperties/></Node></MgmtTree>", "contains /"},
		{"unknown access", node("<AccessType><Read/></AccessType>"), "unknown access type"},
		{"unknown format", node("<DFFormat><string/></DFFormat>"), "unknown DFFormat"},
		{"two formats", node("<DFFormat><chr/><int/></DFFormat>"), "expected one"},
		{"unknown occurrence", node("<Occurrence><Many/></Occurrence>"), "unknown Occurrence"},
		{"unknown scope", node("<Scope><Global/></Scope>"), "unknown Scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Unmarshal([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func FuzzUnmarshal(f *testing.F) {
	seed, err := Marshal(Options{Man: "m"}, pluginDefinitions()["DevInfo"])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("<MgmtTree><Node><NodeName/><DFProperties/></Node></MgmtTree>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := Unmarshal(data)
		if err != nil {
			return
		}
		doc, err := Marshal(Options{}, defs...)
		if err != nil {
			return
		}
		if _, err := Unmarshal(doc); err != nil {
			t.Fatalf("Unmarshal of marshalled definitions: %v\n%s", err, doc)
		}
	})
}
