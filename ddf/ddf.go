// Package ddf writes and reads OMA DM Device Description Framework files
// (DTD -//OMA//DTD-DM-DDF 1.2//EN, namespace syncml:dmddf1.2): the XML
// form of dmtree node definitions that a management object publishes.
package ddf

import (
	"bytes"
	"encoding/xml"
	"fmt"

	"github.com/virmo/virmo/dmtree"
)

// Namespace is the XML namespace of DDF 1.2 documents.
const Namespace = dmtree.NamespaceDDF

// DefaultLeafType is the DFType Marshal writes for a leaf whose definition
// has no Type.
const DefaultLeafType = "text/plain"

// Options sets the document-level elements Marshal writes.
type Options struct {
	// Man and Mod are the manufacturer and model; empty ones are left out.
	Man string
	Mod string
	// Path, when set, is written as the Path of every top-level node: the
	// URI of the node they are placed under (for example ".").
	Path string
}

// accessNames lists the DDF access types in the order Marshal writes them.
var accessNames = []struct {
	bit  dmtree.AccessType
	name string
}{
	{dmtree.AccessAdd, "Add"},
	{dmtree.AccessCopy, "Copy"},
	{dmtree.AccessDelete, "Delete"},
	{dmtree.AccessExec, "Exec"},
	{dmtree.AccessGet, "Get"},
	{dmtree.AccessReplace, "Replace"},
}

// Marshal writes defs as an indented DDF document with an XML declaration
// and the DDF DOCTYPE. Each definition becomes a Node with its
// DFProperties in DTD order: AccessType, DefaultValue, Description,
// DFFormat, Occurrence, Scope, DFTitle (the node name), DFType. A
// runtime-named definition gets an empty NodeName and no DFTitle. A
// definition without Format gets node when it has children and chr
// otherwise, as the tree engine reads it. DFType is a DDFName for
// interior nodes and a MIME type for leaves, DefaultLeafType when the leaf
// has no Type. Empty DefaultValue, Description, Occurrence and Scope are
// left out. It fails on a nil definition and on text XML 1.0 cannot carry.
func Marshal(opts Options, defs ...*dmtree.NodeDef) ([]byte, error) {
	w := &writer{}
	w.buf.WriteString(xml.Header)
	w.buf.WriteString(`<!DOCTYPE MgmtTree PUBLIC "-//OMA//DTD-DM-DDF 1.2//EN"` +
		` "http://www.openmobilealliance.org/tech/DTD/DM_DDF-V1_2.dtd">` + "\n")
	w.line(0, `<MgmtTree xmlns="`+Namespace+`">`)
	w.text(1, "VerDTD", "1.2")
	if opts.Man != "" {
		w.text(1, "Man", opts.Man)
	}
	if opts.Mod != "" {
		w.text(1, "Mod", opts.Mod)
	}
	for _, def := range defs {
		w.node(1, def, opts.Path)
	}
	w.line(0, "</MgmtTree>")
	if w.err != nil {
		return nil, w.err
	}
	return w.buf.Bytes(), nil
}

type writer struct {
	buf bytes.Buffer
	err error
}

func (w *writer) line(depth int, s string) {
	for range depth {
		w.buf.WriteString("  ")
	}
	w.buf.WriteString(s)
	w.buf.WriteByte('\n')
}

// text writes <name>value</name> on one line.
func (w *writer) text(depth int, name, value string) {
	var esc bytes.Buffer
	if w.err == nil && !xmlText(value) {
		w.err = fmt.Errorf("marshal DDF: %s value %q holds a character XML 1.0 cannot carry",
			name, value)
	}
	_ = xml.EscapeText(&esc, []byte(value))
	w.line(depth, "<"+name+">"+esc.String()+"</"+name+">")
}

// choice writes <name><value/></name>.
func (w *writer) choice(depth int, name string, values ...string) {
	w.line(depth, "<"+name+">")
	for _, v := range values {
		w.line(depth+1, "<"+v+"/>")
	}
	w.line(depth, "</"+name+">")
}

func (w *writer) node(depth int, def *dmtree.NodeDef, path string) {
	if def == nil {
		if w.err == nil {
			w.err = fmt.Errorf("marshal DDF: nil node definition")
		}
		return
	}
	w.line(depth, "<Node>")
	w.text(depth+1, "NodeName", def.Name)
	if path != "" {
		w.text(depth+1, "Path", path)
	}

	p := depth + 2
	w.line(depth+1, "<DFProperties>")
	var access []string
	for _, a := range accessNames {
		if def.Access&a.bit != 0 {
			access = append(access, a.name)
		}
	}
	w.choice(p, "AccessType", access...)
	if def.Default != "" {
		w.text(p, "DefaultValue", def.Default)
	}
	if def.Description != "" {
		w.text(p, "Description", def.Description)
	}
	format := effectiveFormat(def)
	w.choice(p, "DFFormat", string(format))
	if def.Occurrence != "" {
		w.choice(p, "Occurrence", string(def.Occurrence))
	}
	if def.Scope != "" {
		w.choice(p, "Scope", string(def.Scope))
	}
	if def.Name != "" {
		w.text(p, "DFTitle", def.Name)
	}
	w.line(p, "<DFType>")
	switch {
	case format == dmtree.FormatNode:
		w.text(p+1, "DDFName", def.Type)
	case def.Type == "":
		w.text(p+1, "MIME", DefaultLeafType)
	default:
		w.text(p+1, "MIME", def.Type)
	}
	w.line(p, "</DFType>")
	w.line(depth+1, "</DFProperties>")

	for _, c := range def.Children {
		w.node(depth+1, c, "")
	}
	w.line(depth, "</Node>")
}

// effectiveFormat returns the format the tree engine gives def's node.
func effectiveFormat(def *dmtree.NodeDef) dmtree.Format {
	switch {
	case def.Format != "":
		return def.Format
	case len(def.Children) > 0:
		return dmtree.FormatNode
	default:
		return dmtree.FormatChr
	}
}

// xmlText reports whether s is UTF-8 made only of XML 1.0 characters.
func xmlText(s string) bool {
	for _, r := range s {
		ok := r == 0x09 || r == 0x0A || r == 0x0D ||
			r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD ||
			r >= 0x10000 && r <= 0x10FFFF
		if !ok {
			return false
		}
	}
	return true
}
