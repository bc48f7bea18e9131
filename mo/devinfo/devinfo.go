// Package devinfo is the DevInfo management object of OMA DM 1.2
// (./DevInfo, urn:oma:mo:oma-dm-devinfo:1.0): the identity leaves a client
// sends in a Replace in every Package 1. Every leaf is Get only: a server
// cannot change the device's identity.
package devinfo

import (
	"context"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/syncml"
)

// Root is the root segment of the MO, and Type its MO identifier.
const (
	Root = "DevInfo"
	Type = "urn:oma:mo:oma-dm-devinfo:1.0"
)

// Leaf names below ./DevInfo, spelled as DM 1.2 spells them.
const (
	LeafDevID = "DevId"
	LeafMan   = "Man"
	LeafMod   = "Mod"
	LeafDmV   = "DmV"
	LeafLang  = "Lang"
)

// Info contains the DevInfo values of a device.
type Info struct {
	// DevID is the globally unique device id (for example "IMEI:..."),
	// also the Source LocURI of the client's messages.
	DevID string
	Man   string
	Mod   string
	// DmV is the client software version.
	DmV string
	// Lang is the language tag of the device (for example "en-US").
	Lang string
}

type plugin struct {
	def *dmtree.NodeDef
}

// New returns the DevInfo plugin. Mounting it creates the leaves with the
// values of info; Write updates them in a tree loaded from a snapshot.
func New(info Info) dmtree.Plugin {
	return &plugin{def: definition(info)}
}

func definition(info Info) *dmtree.NodeDef {
	leaf := func(name, value, desc string) *dmtree.NodeDef {
		return &dmtree.NodeDef{
			Name:        name,
			Format:      dmtree.FormatChr,
			Access:      dmtree.AccessGet,
			Occurrence:  dmtree.OccurrenceOne,
			Scope:       dmtree.ScopePermanent,
			Default:     value,
			Description: desc,
		}
	}

	return &dmtree.NodeDef{
		Name:        Root,
		Format:      dmtree.FormatNode,
		Type:        Type,
		Access:      dmtree.AccessGet,
		Occurrence:  dmtree.OccurrenceOne,
		Scope:       dmtree.ScopePermanent,
		Description: "Device information sent in every Package 1",
		Children: []*dmtree.NodeDef{
			leaf(LeafDevID, info.DevID, "Globally unique device identifier"),
			leaf(LeafMan, info.Man, "Manufacturer"),
			leaf(LeafMod, info.Mod, "Model"),
			leaf(LeafDmV, info.DmV, "Version of the DM client"),
			leaf(LeafLang, info.Lang, "Current language of the device"),
			extDefinition(),
		},
	}
}

// extDefinition returns the DDF definition of ./DevInfo/Ext, which DM 1.2
// leaves to vendor extensions. Both nodes are optional and Dynamic, so
// mounting creates neither: the agent sends NotifyUDP in Package 1 only
// when it listens for datagrams.
func extDefinition() *dmtree.NodeDef {
	return &dmtree.NodeDef{
		Name:        "Ext",
		Format:      dmtree.FormatNode,
		Access:      dmtree.AccessGet,
		Occurrence:  dmtree.OccurrenceZeroOrOne,
		Scope:       dmtree.ScopeDynamic,
		Description: "Vendor extensions of DevInfo",
		Children: []*dmtree.NodeDef{{
			Name:        "NotifyUDP",
			Format:      dmtree.FormatChr,
			Access:      dmtree.AccessGet,
			Occurrence:  dmtree.OccurrenceZeroOrOne,
			Scope:       dmtree.ScopeDynamic,
			Description: "IP:port with a literal IP at which the VirMO agent receives Package #0 datagrams",
		}},
	}
}

// Definition returns the DDF definition of ./DevInfo.
func (p *plugin) Definition() *dmtree.NodeDef { return p.def }

// BeforeChange rejects every server change with 405: the DDF grants only
// Get, so the engine should never call it.
func (p *plugin) BeforeChange(tx *dmtree.Tx, ch dmtree.Change) error {
	return dmtree.Errorf(syncml.StatusCommandNotAllowed, "%s is read-only", ch.URI)
}

// Exec returns 405: DevInfo has no executable nodes.
func (p *plugin) Exec(ctx context.Context, tx *dmtree.Tx, req dmtree.ExecRequest) int {
	return syncml.StatusCommandNotAllowed
}

// Leaves returns the DevInfo leaves keyed by their URI ("./DevInfo/DevId"),
// the form the Source LocURIs of the Package 1 Replace take.
func Leaves(info Info) map[string]string {
	return map[string]string{
		"./" + Root + "/" + LeafDevID: info.DevID,
		"./" + Root + "/" + LeafMan:   info.Man,
		"./" + Root + "/" + LeafMod:   info.Mod,
		"./" + Root + "/" + LeafDmV:   info.DmV,
		"./" + Root + "/" + LeafLang:  info.Lang,
	}
}

// Write stores the values of info in the leaves of a mounted DevInfo, so a
// tree loaded from an old snapshot reports the current values.
func Write(tx *dmtree.Tx, info Info) error {
	values := map[string]string{
		LeafDevID: info.DevID,
		LeafMan:   info.Man,
		LeafMod:   info.Mod,
		LeafDmV:   info.DmV,
		LeafLang:  info.Lang,
	}
	for leaf, value := range values {
		if err := tx.SetValue(Root+"/"+leaf, []byte(value)); err != nil {
			return err
		}
	}
	return nil
}

// Read returns the values stored in the leaves of a mounted DevInfo.
func Read(tx *dmtree.Tx) (Info, error) {
	var info Info
	fields := []struct {
		leaf string
		dst  *string
	}{
		{LeafDevID, &info.DevID},
		{LeafMan, &info.Man},
		{LeafMod, &info.Mod},
		{LeafDmV, &info.DmV},
		{LeafLang, &info.Lang},
	}
	for _, f := range fields {
		v, err := tx.Value(Root + "/" + f.leaf)
		if err != nil {
			return Info{}, err
		}
		*f.dst = string(v)
	}
	return info, nil
}
