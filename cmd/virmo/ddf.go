package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/virmo/virmo/ddf"
	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/mo/devdetail"
	"github.com/virmo/virmo/mo/devinfo"
	"github.com/virmo/virmo/mo/dmacc"
	"github.com/virmo/virmo/mo/virmo"
)

// moDefinition is a management object whose DDF `virmo ddf` prints.
type moDefinition struct {
	name string
	def  *dmtree.NodeDef
	// mountedAt is the URI of the node the MO is placed under when that is
	// not the root. Such an MO is printed only when named, because the
	// combined tree already contains it there.
	mountedAt string
}

// lawmoMount is the URI of the node the agent mounts LAWMO below, once per VM.
const lawmoMount = "./VirMO/<x>/DM"

// moDefinitions returns the definitions the agent mounts, from the plugins
// themselves, in the order `virmo ddf` prints them. LAWMO is the per-VM
// LAWMO found at VirMO/<x>/DM/LAWMO.
func moDefinitions() ([]moDefinition, error) {
	virmoDef := virmo.New(nil, virmo.Options{}).Definition()
	lawmo := findDef(virmoDef, "", "DM", "LAWMO")
	if lawmo == nil {
		return nil, fmt.Errorf("the VirMO definition has no <x>/DM/LAWMO node")
	}
	return []moDefinition{
		{"DevInfo", devinfo.New(devinfo.Info{}).Definition(), ""},
		{"DevDetail", devdetail.New(devdetail.Detail{}).Definition(), ""},
		{"DMAcc", dmacc.New().Definition(), ""},
		{"LAWMO", lawmo, lawmoMount},
		{"VirMO", virmoDef, ""},
	}, nil
}

// findDef follows child names ("" for the runtime-named child) from def.
func findDef(def *dmtree.NodeDef, names ...string) *dmtree.NodeDef {
	for _, name := range names {
		var next *dmtree.NodeDef
		for _, c := range def.Children {
			if c.Name == name {
				next = c
				break
			}
		}
		if next == nil {
			return nil
		}
		def = next
	}
	return def
}

func newDDFCommand() *cobra.Command {
	var man, mod string
	cmd := &cobra.Command{
		Use:   "ddf [MO]",
		Short: "Print the OMA DDF of the management objects the agent serves",
		Long: `Print the DDF 1.2 XML (Device Description Framework) of DevInfo,
DevDetail, DMAcc, LAWMO or VirMO, built from the definitions the agent
mounts. Without an argument, the root-level MOs DevInfo, DevDetail, DMAcc
and VirMO are printed in one MgmtTree. MO names are case-insensitive.
LAWMO exists only per VM, at ./VirMO/<x>/DM/LAWMO: it is part of the VirMO
tree, and "virmo ddf lawmo" prints it alone with a comment that says so.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			all, err := moDefinitions()
			if err != nil {
				return err
			}
			var defs []*dmtree.NodeDef
			var names []string
			mountedAt := ""
			for _, m := range all {
				names = append(names, m.name)
				switch {
				case len(args) == 0 && m.mountedAt == "":
					defs = append(defs, m.def)
				case len(args) == 1 && strings.EqualFold(args[0], m.name):
					defs = append(defs, m.def)
					mountedAt = m.mountedAt
				}
			}
			if len(defs) == 0 {
				return fmt.Errorf("unknown management object %q: use one of %s",
					args[0], strings.Join(names, ", "))
			}
			out, err := ddf.Marshal(ddf.Options{Man: man, Mod: mod}, defs...)
			if err != nil {
				return err
			}
			if mountedAt != "" {
				out = addMountComment(out, mountedAt)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&man, "man", "VirMO", "manufacturer written in the Man element")
	cmd.Flags().StringVar(&mod, "mod", "VirMO Client", "model written in the Mod element")
	return cmd
}

// addMountComment inserts, before the MgmtTree element of a DDF document,
// a comment that names the node its top-level node is placed under. The
// DDF Path element cannot carry it, because a Path names one real node and
// this one holds the runtime-named <x>.
func addMountComment(doc []byte, mountedAt string) []byte {
	comment := "<!-- The agent mounts this MO below " + mountedAt + ", once per VM. -->\n"
	i := bytes.Index(doc, []byte("<MgmtTree"))
	if i < 0 {
		return doc
	}
	out := append([]byte{}, doc[:i]...)
	out = append(out, comment...)
	return append(out, doc[i:]...)
}
