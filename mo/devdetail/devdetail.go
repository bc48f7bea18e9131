// Package devdetail is the DevDetail management object of OMA DM 1.2
// (./DevDetail, urn:oma:mo:oma-dm-devdetail:1.0): the URI limits of the
// management tree, device type, OEM, firmware, software and hardware
// versions, and whether the client supports large objects.
package devdetail

import (
	"context"
	"strconv"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/syncml"
)

// Root is the root segment of the MO, and Type its MO identifier.
const (
	Root = "DevDetail"
	Type = "urn:oma:mo:oma-dm-devdetail:1.0"
)

// Detail contains the DevDetail values of a device.
type Detail struct {
	// DevTyp is the device type (for example "gateway" or "laptop").
	DevTyp string
	OEM    string
	FwV    string
	SwV    string
	HwV    string
	// LrgObj is true when the client reassembles large objects sent in
	// chunks (MoreData).
	LrgObj bool
}

type plugin struct {
	def *dmtree.NodeDef
}

// New returns the DevDetail plugin. Mounting it creates the leaves with
// the values of d; Write updates them in a tree loaded from a snapshot.
func New(d Detail) dmtree.Plugin {
	return &plugin{def: definition(d)}
}

func leaf(name string, format dmtree.Format, value, desc string) *dmtree.NodeDef {
	return &dmtree.NodeDef{
		Name:        name,
		Format:      format,
		Access:      dmtree.AccessGet,
		Occurrence:  dmtree.OccurrenceOne,
		Scope:       dmtree.ScopePermanent,
		Default:     value,
		Description: desc,
	}
}

func interior(name, desc string, children ...*dmtree.NodeDef) *dmtree.NodeDef {
	return &dmtree.NodeDef{
		Name:        name,
		Format:      dmtree.FormatNode,
		Access:      dmtree.AccessGet,
		Occurrence:  dmtree.OccurrenceOne,
		Scope:       dmtree.ScopePermanent,
		Description: desc,
		Children:    children,
	}
}

func definition(d Detail) *dmtree.NodeDef {
	values := d.values()
	root := interior(Root, "Device details",
		interior("URI", "Limits of management tree URIs",
			leaf("MaxDepth", dmtree.FormatChr, values["URI/MaxDepth"],
				"Maximum number of URI segments, 0 for unlimited"),
			leaf("MaxTotLen", dmtree.FormatChr, values["URI/MaxTotLen"],
				"Maximum URI length in characters, 0 for unlimited"),
			leaf("MaxSegLen", dmtree.FormatChr, values["URI/MaxSegLen"],
				"Maximum URI segment length in characters, 0 for unlimited"),
		),
		leaf("DevTyp", dmtree.FormatChr, values["DevTyp"], "Device type"),
		leaf("OEM", dmtree.FormatChr, values["OEM"], "Original equipment manufacturer"),
		leaf("FwV", dmtree.FormatChr, values["FwV"], "Firmware version"),
		leaf("SwV", dmtree.FormatChr, values["SwV"], "Software version"),
		leaf("HwV", dmtree.FormatChr, values["HwV"], "Hardware version"),
		leaf("LrgObj", dmtree.FormatBool, values["LrgObj"],
			"Whether the client supports large objects"),
	)
	root.Type = Type
	return root
}

// values returns the leaf values keyed by their path below ./DevDetail.
// The URI limits are the ones dmtree.ParseURI enforces (0 means
// unlimited), as decimal strings in chr leaves as DM 1.2 defines them.
func (d Detail) values() map[string]string {
	return map[string]string{
		"URI/MaxDepth":  strconv.Itoa(dmtree.MaxDepth),
		"URI/MaxTotLen": strconv.Itoa(dmtree.MaxTotLen),
		"URI/MaxSegLen": strconv.Itoa(dmtree.MaxSegLen),
		"DevTyp":        d.DevTyp,
		"OEM":           d.OEM,
		"FwV":           d.FwV,
		"SwV":           d.SwV,
		"HwV":           d.HwV,
		"LrgObj":        strconv.FormatBool(d.LrgObj),
	}
}

// Definition returns the DDF definition of ./DevDetail.
func (p *plugin) Definition() *dmtree.NodeDef { return p.def }

// BeforeChange rejects every server change with 405: the DDF grants only
// Get, so the engine should never call it.
func (p *plugin) BeforeChange(tx *dmtree.Tx, ch dmtree.Change) error {
	return dmtree.Errorf(syncml.StatusCommandNotAllowed, "%s is read-only", ch.URI)
}

// Exec returns 405: DevDetail has no executable nodes.
func (p *plugin) Exec(ctx context.Context, tx *dmtree.Tx, req dmtree.ExecRequest) int {
	return syncml.StatusCommandNotAllowed
}

// Write stores the values of d in the leaves of a mounted DevDetail, so a
// tree loaded from an old snapshot reports the current values.
func Write(tx *dmtree.Tx, d Detail) error {
	for path, value := range d.values() {
		if err := tx.SetValue(Root+"/"+path, []byte(value)); err != nil {
			return err
		}
	}
	return nil
}
