package main

import (
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
}

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
		{"DevInfo", devinfo.New(devinfo.Info{}).Definition()},
		{"DevDetail", devdetail.New(devdetail.Detail{}).Definition()},
		{"DMAcc", dmacc.New().Definition()},
		{"LAWMO", lawmo},
		{"VirMO", virmoDef},
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
mounts. Without an argument, all five are printed in one MgmtTree. MO names
are case-insensitive. LAWMO is the per-VM LAWMO at ./VirMO/<x>/DM/LAWMO.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			all, err := moDefinitions()
			if err != nil {
				return err
			}
			var defs []*dmtree.NodeDef
			var names []string
			for _, m := range all {
				names = append(names, m.name)
				if len(args) == 0 || strings.EqualFold(args[0], m.name) {
					defs = append(defs, m.def)
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
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&man, "man", "VirMO", "manufacturer written in the Man element")
	cmd.Flags().StringVar(&mod, "mod", "VirMO Client", "model written in the Mod element")
	return cmd
}
