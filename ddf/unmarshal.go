package ddf

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/virmo/virmo/dmtree"
)

// DDF XML elements as encoding/xml reads them. Tags carry no namespace, so
// the DDF namespace, none, or a vendor's default namespace all decode, and
// vendor extension elements (such as Microsoft's MSFT:Applicability) are
// skipped.
type mgmtTree struct {
	XMLName xml.Name   `xml:"MgmtTree"`
	VerDTD  string     `xml:"VerDTD"`
	Man     string     `xml:"Man"`
	Mod     string     `xml:"Mod"`
	Nodes   []nodeElem `xml:"Node"`
}

type nodeElem struct {
	NodeName *string    `xml:"NodeName"`
	Props    *propsElem `xml:"DFProperties"`
	Nodes    []nodeElem `xml:"Node"`
}

type propsElem struct {
	AccessType  *choiceElem `xml:"AccessType"`
	Default     string      `xml:"DefaultValue"`
	Description string      `xml:"Description"`
	DFFormat    *choiceElem `xml:"DFFormat"`
	Occurrence  *choiceElem `xml:"Occurrence"`
	Scope       *choiceElem `xml:"Scope"`
	DFType      *typeElem   `xml:"DFType"`
}

// choiceElem is an element whose content is empty elements naming values,
// as in <AccessType><Get/><Replace/></AccessType>.
type choiceElem struct {
	Items []struct {
		XMLName xml.Name
	} `xml:",any"`
}

func (c *choiceElem) names() []string {
	names := make([]string, 0, len(c.Items))
	for _, it := range c.Items {
		names = append(names, it.XMLName.Local)
	}
	return names
}

type typeElem struct {
	MIME    *string `xml:"MIME"`
	DDFName *string `xml:"DDFName"`
}

var formats = map[string]bool{
	"node": true, "chr": true, "int": true, "bool": true, "bin": true, "b64": true,
	"null": true, "xml": true, "date": true, "time": true, "float": true,
}

var occurrences = map[string]bool{
	"One": true, "ZeroOrOne": true, "ZeroOrMore": true, "OneOrMore": true,
	"ZeroOrN": true, "OneOrN": true,
}

// Unmarshal reads a DDF document and returns the definitions of its
// top-level nodes. Man, Mod, Path, DFTitle, CaseSense and run-time
// properties are not part of a definition and are dropped. A DDFName or
// MIME DFType becomes Type. ZeroOrN and OneOrN keep their name and lose N.
//
// It fails on input that is not well-formed XML or whose root is not
// MgmtTree. It also fails on a Node without NodeName or DFProperties, a
// NodeName containing "/", and an unknown access type, format, occurrence
// or scope. A DFFormat, Occurrence or Scope must contain exactly one value.
func Unmarshal(data []byte) ([]*dmtree.NodeDef, error) {
	var doc mgmtTree
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("invalid DDF document: %w", err)
	}
	return convertNodes(doc.Nodes, "")
}

func convertNodes(elems []nodeElem, parent string) ([]*dmtree.NodeDef, error) {
	defs := make([]*dmtree.NodeDef, 0, len(elems))
	for i := range elems {
		def, err := convertNode(&elems[i], parent)
		if err != nil {
			return nil, err
		}
		defs = append(defs, def)
	}
	return defs, nil
}

func convertNode(e *nodeElem, parent string) (*dmtree.NodeDef, error) {
	if e.NodeName == nil {
		return nil, fmt.Errorf("invalid DDF: a Node below %q has no NodeName", parent)
	}
	name := strings.TrimSpace(*e.NodeName)
	where := parent + "/" + name
	if name == "" {
		where = parent + "/<x>"
	}
	if strings.Contains(name, "/") {
		return nil, fmt.Errorf("invalid DDF: NodeName %q contains /", name)
	}
	if e.Props == nil {
		return nil, fmt.Errorf("invalid DDF: node %s has no DFProperties", where)
	}
	def := &dmtree.NodeDef{
		Name:        name,
		Default:     e.Props.Default,
		Description: strings.TrimSpace(e.Props.Description),
	}
	if err := convertProps(def, e.Props, where); err != nil {
		return nil, err
	}

	children, err := convertNodes(e.Nodes, where)
	if err != nil {
		return nil, err
	}
	if len(children) > 0 {
		def.Children = children
	}
	return def, nil
}

func convertProps(def *dmtree.NodeDef, p *propsElem, where string) error {
	if p.AccessType != nil {
		for _, name := range p.AccessType.names() {
			bit, ok := accessBit(name)
			if !ok {
				return fmt.Errorf("invalid DDF: node %s has unknown access type %q", where, name)
			}
			def.Access |= bit
		}
	}

	format, err := single(p.DFFormat, "DFFormat", where, formats)
	if err != nil {
		return err
	}
	def.Format = dmtree.Format(format)
	occ, err := single(p.Occurrence, "Occurrence", where, occurrences)
	if err != nil {
		return err
	}
	def.Occurrence = dmtree.Occurrence(occ)
	scope, err := single(p.Scope, "Scope", where,
		map[string]bool{"Permanent": true, "Dynamic": true})
	if err != nil {
		return err
	}
	def.Scope = dmtree.Scope(scope)

	if t := p.DFType; t != nil {
		switch {
		case t.DDFName != nil:
			def.Type = strings.TrimSpace(*t.DDFName)
		case t.MIME != nil:
			def.Type = strings.TrimSpace(*t.MIME)
		}
	}
	return nil
}

// single returns the one value of an optional choice element, "" when the
// element is absent.
func single(c *choiceElem, elem, where string, known map[string]bool) (string, error) {
	if c == nil {
		return "", nil
	}
	names := c.names()
	if len(names) != 1 {
		return "", fmt.Errorf("invalid DDF: %s of node %s contains %d values, expected one",
			elem, where, len(names))
	}
	if !known[names[0]] {
		return "", fmt.Errorf("invalid DDF: node %s has unknown %s %q", where, elem, names[0])
	}
	return names[0], nil
}

func accessBit(name string) (dmtree.AccessType, bool) {
	for _, a := range accessNames {
		if a.name == name {
			return a.bit, true
		}
	}
	return 0, false
}
