package devdetail

import (
	"strconv"
	"testing"

	"github.com/virmo/virmo/dmtree"
)

func TestDevDetailValues(t *testing.T) {
	d := Detail{DevTyp: "gateway", OEM: "Acme", FwV: "fw1", SwV: "sw2", HwV: "hw3"}
	tree := dmtree.New(dmtree.Options{})
	if err := tree.Mount(New(d)); err != nil {
		t.Fatalf("Mount: %v", err)
	}

	want := map[string]string{
		"URI/MaxDepth":  strconv.Itoa(dmtree.MaxDepth),
		"URI/MaxTotLen": strconv.Itoa(dmtree.MaxTotLen),
		"URI/MaxSegLen": strconv.Itoa(dmtree.MaxSegLen),
		"DevTyp":        "gateway",
		"OEM":           "Acme",
		"FwV":           "fw1",
		"SwV":           "sw2",
		"HwV":           "hw3",
		"LrgObj":        "false",
	}
	tree.View(func(tx *dmtree.Tx) error {
		for path, w := range want {
			got, err := tx.Value(Root + "/" + path)
			if err != nil {
				t.Errorf("read %s: %v", path, err)
				continue
			}
			if string(got) != w {
				t.Errorf("%s = %q, want %q", path, got, w)
			}
		}
		return nil
	})
}

func TestDevDetailWrite(t *testing.T) {
	tree := dmtree.New(dmtree.Options{})
	if err := tree.Mount(New(Detail{SwV: "1"})); err != nil {
		t.Fatalf("Mount: %v", err)
	}

	err := tree.Update(func(tx *dmtree.Tx) error { return Write(tx, Detail{SwV: "2"}) })

	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	tree.View(func(tx *dmtree.Tx) error {
		if got, _ := tx.Value(Root + "/SwV"); string(got) != "2" {
			t.Errorf("SwV = %q, want 2", got)
		}
		return nil
	})
}
