package dmtree

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/virmo/virmo/syncml"
)

// NamespaceDDF is the XML namespace of DDF and TNDS documents.
const NamespaceDDF = "syncml:dmddf1.2"

// MaxTNDSNodes is the maximum number of Node elements DecodeTNDS accepts
// in one document.
const MaxTNDSNodes = 4096

// TNDSNode is one Node element of a TNDS (tree and description
// serialization) document: a node with its run-time properties, a leaf
// value, and its children in document order.
type TNDSNode struct {
	Name string
	// Path is the URI of the parent, empty when the element has none. Only
	// top-level nodes use it.
	Path  string
	Props TNDSProps
	// Value is the leaf value: raw bytes, with bin values already decoded
	// from base64. Nil means the Value element was absent.
	Value    []byte
	Children []*TNDSNode
}

// TNDSProps contains the RTProperties of a TNDS node. Empty strings are
// absent elements, except for ACL, where nil is absent and a pointer to ""
// is an empty (inheriting) ACL.
type TNDSProps struct {
	ACL    *string
	Format Format
	// Type is a MIME type for leaves and an MO identifier for interior
	// nodes. TypeDDFName records which element carried it.
	Type        string
	TypeDDFName bool
	Size        string
	Title       string
	TStamp      string
	VerNo       string
}

// TNDS XML elements as encoding/xml reads them. Tags carry no namespace, so
// documents with the DDF namespace, another one or none all decode.
type tndsDoc struct {
	XMLName xml.Name   `xml:"MgmtTree"`
	VerDTD  string     `xml:"VerDTD"`
	Nodes   []tndsElem `xml:"Node"`
}

type tndsElem struct {
	NodeName *string    `xml:"NodeName"`
	Path     string     `xml:"Path"`
	RT       *rtElem    `xml:"RTProperties"`
	Value    *string    `xml:"Value"`
	Nodes    []tndsElem `xml:"Node"`
}

type rtElem struct {
	ACL    *string     `xml:"ACL"`
	Format *choiceElem `xml:"Format"`
	Size   string      `xml:"Size"`
	Title  string      `xml:"Title"`
	TStamp string      `xml:"TStamp"`
	Type   *typeElem   `xml:"Type"`
	VerNo  string      `xml:"VerNo"`
}

// choiceElem is an element whose only content is one empty element that
// names a value, as in <Format><chr/></Format>.
type choiceElem struct {
	Items []struct {
		XMLName xml.Name
	} `xml:",any"`
}

// name returns the local name of the single child, or an error.
func (c *choiceElem) name(element string) (string, error) {
	if len(c.Items) != 1 {
		return "", Errorf(400, "%s contains %d elements, expected one", element, len(c.Items))
	}
	return c.Items[0].XMLName.Local, nil
}

type typeElem struct {
	MIME    *string `xml:"MIME"`
	DDFName *string `xml:"DDFName"`
}

// knownFormats lists the formats a TNDS Format element may name.
var knownFormats = map[Format]bool{
	FormatNode: true, FormatChr: true, FormatInt: true, FormatBool: true,
	FormatBin: true, FormatB64: true, FormatNull: true, FormatXML: true,
	FormatDate: true, FormatTime: true, FormatFloat: true,
}

// DecodeTNDS parses an XML TNDS document and returns its top-level nodes.
// Every error is a 400 *StatusError that names what is wrong. It is
// returned for input that is not well-formed XML, a root other than
// MgmtTree, a VerDTD other than 1.2 or a missing or invalid NodeName. It is
// also returned for two siblings with one name, an invalid Path or ACL, a
// Format that is not exactly one known format or a Type with both MIME and
// DDFName. The other cases are a node with both a Value and children, a bin
// or b64 Value that is not base64, more than MaxTNDSNodes nodes, nesting
// deeper than MaxDepth, and content after the root element. A b64 Format becomes
// bin, because XML carries binary values base64-encoded either way.
func DecodeTNDS(data []byte) ([]*TNDSNode, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var doc tndsDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, Errorf(400, "invalid TNDS document: %v", err)
	}
	if err := checkTrailing(dec); err != nil {
		return nil, err
	}
	if v := strings.TrimSpace(doc.VerDTD); v != "" && v != "1.2" {
		return nil, Errorf(400, "invalid TNDS VerDTD %q, expected 1.2", v)
	}

	count := 0
	nodes, err := decodeTNDSNodes(doc.Nodes, 1, &count)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if n.Path == "" {
			continue
		}
		if _, err := ParseURI(n.Path); err != nil {
			return nil, Errorf(400, "invalid TNDS Path %q: %v", clip(n.Path), err)
		}
	}
	return nodes, nil
}

// checkTrailing rejects anything but whitespace, comments and processing
// instructions after the root element.
func checkTrailing(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return Errorf(400, "invalid TNDS document after MgmtTree: %v", err)
		}
		switch tok := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(tok)) > 0 {
				return Errorf(400, "invalid TNDS document: text after MgmtTree")
			}
		default:
			return Errorf(400, "invalid TNDS document: content after MgmtTree")
		}
	}
}

func decodeTNDSNodes(elems []tndsElem, depth int, count *int) ([]*TNDSNode, error) {
	if len(elems) > 0 && depth > MaxDepth {
		return nil, Errorf(400, "TNDS nodes nest deeper than %d levels", MaxDepth)
	}
	seen := make(map[string]bool, len(elems))
	nodes := make([]*TNDSNode, 0, len(elems))
	for i := range elems {
		*count++
		if *count > MaxTNDSNodes {
			return nil, Errorf(400, "TNDS document has more than %d nodes", MaxTNDSNodes)
		}
		n, err := decodeTNDSNode(&elems[i], depth, count)
		if err != nil {
			return nil, err
		}
		if seen[n.Name] {
			return nil, Errorf(400, "TNDS node name %q appears twice among siblings", clip(n.Name))
		}
		seen[n.Name] = true
		nodes = append(nodes, n)
	}
	return nodes, nil
}

func decodeTNDSNode(e *tndsElem, depth int, count *int) (*TNDSNode, error) {
	if e.NodeName == nil {
		return nil, Errorf(400, "TNDS Node has no NodeName")
	}
	name := strings.TrimSpace(*e.NodeName)
	if err := checkSegment(name); err != nil {
		return nil, Errorf(400, "invalid TNDS NodeName %q: %v", clip(name), err)
	}
	n := &TNDSNode{Name: name, Path: strings.TrimSpace(e.Path)}
	if e.RT != nil {
		props, err := decodeRTProps(e.RT, name)
		if err != nil {
			return nil, err
		}
		n.Props = props
	}
	if e.Value != nil && len(e.Nodes) > 0 {
		return nil, Errorf(400, "TNDS node %q has both a Value and children", clip(name))
	}
	if e.Value != nil {
		value, err := decodeTNDSValue(n.Props.Format, *e.Value)
		if err != nil {
			return nil, Errorf(400, "TNDS node %q: %v", clip(name), err)
		}
		n.Value = value
	}
	if n.Props.Format == FormatB64 {
		n.Props.Format = FormatBin
	}

	children, err := decodeTNDSNodes(e.Nodes, depth+1, count)
	if err != nil {
		return nil, err
	}
	n.Children = children
	return n, nil
}

func decodeRTProps(rt *rtElem, name string) (TNDSProps, error) {
	p := TNDSProps{
		Size:   strings.TrimSpace(rt.Size),
		Title:  rt.Title,
		TStamp: strings.TrimSpace(rt.TStamp),
		VerNo:  strings.TrimSpace(rt.VerNo),
	}
	if rt.ACL != nil {
		acl := strings.TrimSpace(*rt.ACL)
		if _, err := ParseACL(acl); err != nil {
			return TNDSProps{}, Errorf(400, "TNDS node %q: %v", clip(name), err)
		}
		p.ACL = &acl
	}
	if rt.Format != nil {
		f, err := rt.Format.name("Format of TNDS node " + clip(name))
		if err != nil {
			return TNDSProps{}, err
		}
		if !knownFormats[Format(f)] {
			return TNDSProps{}, Errorf(400, "TNDS node %q has unknown format %q", clip(name), clip(f))
		}
		p.Format = Format(f)
	}
	if rt.Type != nil {
		switch {
		case rt.Type.MIME != nil && rt.Type.DDFName != nil:
			return TNDSProps{}, Errorf(400, "Type of TNDS node %q has both MIME and DDFName", clip(name))
		case rt.Type.MIME != nil:
			p.Type = strings.TrimSpace(*rt.Type.MIME)
		case rt.Type.DDFName != nil:
			p.Type = strings.TrimSpace(*rt.Type.DDFName)
			p.TypeDDFName = true
		}
	}
	return p, nil
}

// decodeTNDSValue returns the raw value of a Value element: base64-decoded
// for bin and b64, the text itself otherwise.
func decodeTNDSValue(format Format, text string) ([]byte, error) {
	if format != FormatBin && format != FormatB64 {
		return []byte(text), nil
	}
	_, value, err := decodeData(&syncml.Meta{Format: string(FormatB64)}, syncml.NewData(text))
	return value, err
}
