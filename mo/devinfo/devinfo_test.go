package devinfo

import (
	"context"
	"strconv"
	"testing"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/syncml"
)

var testInfo = Info{DevID: "IMEI:493005100592800", Man: "Acme", Mod: "V1", DmV: "1.3", Lang: "en-US"}

func mount(t *testing.T, info Info) *dmtree.Tree {
	t.Helper()
	tree := dmtree.New(dmtree.Options{})
	if err := tree.Mount(New(info)); err != nil {
		t.Fatalf("Mount: %v", err)
	}
	return tree
}

func execute(tree *dmtree.Tree, cmd syncml.Command) (int, string) {
	out := tree.Execute(context.Background(), dmtree.Session{ServerID: "srv", MsgRef: "1"}, cmd)
	code, value := 0, ""
	for _, c := range out {
		switch c.Name {
		case syncml.CmdStatus:
			code, _ = strconv.Atoi(c.Data)
		case syncml.CmdResults:
			value = c.Items[0].Data.Value
		}
	}
	return code, value
}

func TestDevInfoGetLeaves(t *testing.T) {
	tree := mount(t, testInfo)
	for uri, want := range Leaves(testInfo) {
		get := syncml.Command{Name: syncml.CmdGet, CmdID: "1",
			Items: []syncml.Item{{Target: &syncml.Locator{LocURI: uri}}}}
		code, got := execute(tree, get)
		if code != 200 || got != want {
			t.Errorf("Get %s = %d %q, want 200 %q", uri, code, got, want)
		}
	}
}

func TestDevInfoReplaceRejected(t *testing.T) {
	tree := mount(t, testInfo)
	replace := syncml.Command{Name: syncml.CmdReplace, CmdID: "1",
		Items: []syncml.Item{{Target: &syncml.Locator{LocURI: "./DevInfo/Man"},
			Data: syncml.NewData("Other")}}}

	code, _ := execute(tree, replace)

	if code != 405 && code != 425 {
		t.Errorf("Replace DevInfo/Man = %d, want 405 or 425", code)
	}
}

func TestDevInfoWriteAfterLoad(t *testing.T) {
	tree := mount(t, testInfo)
	newer := testInfo
	newer.DmV = "2.0"

	if err := tree.Update(func(tx *dmtree.Tx) error { return Write(tx, newer) }); err != nil {
		t.Fatalf("Write: %v", err)
	}

	var got Info
	tree.View(func(tx *dmtree.Tx) error {
		var err error
		got, err = Read(tx)
		return err
	})
	if got != newer {
		t.Errorf("Read = %+v, want %+v", got, newer)
	}
}

func TestDevInfoRootType(t *testing.T) {
	tree := mount(t, testInfo)
	tree.View(func(tx *dmtree.Tx) error {
		n, err := tx.Node(Root)
		if err != nil {
			t.Fatal(err)
		}
		if n.Type != Type {
			t.Errorf("Type = %q, want %q", n.Type, Type)
		}
		return nil
	})
}

func TestDevInfoDefinesNotifyUDP(t *testing.T) {
	var ext, leaf *dmtree.NodeDef
	for _, child := range New(testInfo).Definition().Children {
		if child.Name == "Ext" {
			ext = child
		}
	}
	if ext == nil {
		t.Fatal("DevInfo definition has no Ext node")
	}
	for _, child := range ext.Children {
		if child.Name == "NotifyUDP" {
			leaf = child
		}
	}
	if leaf == nil {
		t.Fatal("DevInfo/Ext definition has no NotifyUDP leaf")
	}
	if ext.Format != dmtree.FormatNode || ext.Occurrence != dmtree.OccurrenceZeroOrOne {
		t.Errorf("Ext: Format %s, Occurrence %s, want node, ZeroOrOne", ext.Format, ext.Occurrence)
	}
	if leaf.Format != dmtree.FormatChr {
		t.Errorf("NotifyUDP Format = %s, want chr", leaf.Format)
	}
	if leaf.Access != dmtree.AccessGet {
		t.Errorf("NotifyUDP Access = %v, want Get only", leaf.Access)
	}
	if leaf.Occurrence != dmtree.OccurrenceZeroOrOne {
		t.Errorf("NotifyUDP Occurrence = %s, want ZeroOrOne", leaf.Occurrence)
	}
}

func TestDevInfoMountLeavesExtOut(t *testing.T) {
	tree := mount(t, testInfo)
	get := syncml.Command{Name: syncml.CmdGet, CmdID: "1",
		Items: []syncml.Item{{Target: &syncml.Locator{LocURI: "./DevInfo/Ext/NotifyUDP"}}}}
	if code, _ := execute(tree, get); code != 404 {
		t.Errorf("Get ./DevInfo/Ext/NotifyUDP after Mount = %d, want 404", code)
	}
}
