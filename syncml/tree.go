package syncml

import (
	"errors"
	"fmt"
	"strings"
)

// Node is one element of a generic document tree. Binary encodings such as
// WBXML build a Node tree and hand it to BuildMessage, so that they share
// Decode's mapping from elements to the model.
type Node struct {
	// Name is the local element name.
	Name string
	// Space is the namespace. Only the root's namespace is checked, and
	// Data children keep theirs when BuildMessage renders them as XML.
	Space string
	// Text is the character content, with every text chunk concatenated.
	Text string
	// Opaque is true when the text arrived as opaque bytes (WBXML OPAQUE).
	Opaque bool
	// Children are the child elements in document order.
	Children []*Node
}

// BuildMessage maps a tree rooted at a SyncML element to a Message with the
// same rules as Decode: lenient about element order, namespaces of inner
// elements and whitespace around identifiers. A Data element with child
// elements becomes a Data with XML set whose Value is the children rendered
// as compact XML, each element that changes namespace carrying an xmlns
// attribute. An Item's Data element with Opaque set and no children becomes
// a Data with Opaque set and the raw bytes as Value.
//
// BuildMessage fails on a nil root, a root other than SyncML, a root
// namespace that is not a SyncML namespace, nesting deeper than Decode
// allows, and commands nested too deep. Errors carry line 0 because a tree
// has no lines.
func BuildMessage(root *Node) (*Message, error) {
	if root == nil {
		return nil, errors.New("decode: no root element")
	}
	e, err := elementFromNode(root, 1, 0)
	if err != nil {
		return nil, err
	}
	if e.name != "SyncML" {
		return nil, fmt.Errorf("decode: root element is <%s>, expected <SyncML>", e.name)
	}
	if !isSyncMLNamespace(e.space) {
		return nil, fmt.Errorf("decode: root namespace %q is not a SyncML namespace", e.space)
	}

	m := &Message{}
	if hdr := e.child("SyncHdr"); hdr != nil {
		m.Header = decodeHeader(hdr)
	}
	if body := e.child("SyncBody"); body != nil {
		if m.Body, err = decodeBody(body); err != nil {
			return nil, err
		}
		markOpaqueData(nodeChild(root, "SyncBody"), &m.Body)
	}
	return m, nil
}

func elementFromNode(n *Node, pos, depth int) (*element, error) {
	if depth >= maxElementDepth {
		return nil, fmt.Errorf("decode: elements nested deeper than %d", maxElementDepth)
	}
	e := &element{name: n.Name, space: n.Space, pos: pos}
	e.text.WriteString(n.Text)

	counts := map[string]int{}
	for _, c := range n.Children {
		counts[c.Name]++
		child, err := elementFromNode(c, counts[c.Name], depth+1)
		if err != nil {
			return nil, err
		}
		e.children = append(e.children, child)
	}
	if n.Name == "Data" && len(n.Children) > 0 {
		var b strings.Builder
		for _, c := range n.Children {
			renderNode(&b, c, n.Space)
		}
		e.raw = b.String()
	}
	return e, nil
}

// renderNode writes n as compact XML. It writes an xmlns attribute when
// n's namespace differs from its parent's, so the namespace survives.
func renderNode(b *strings.Builder, n *Node, parentSpace string) {
	b.WriteString("<" + n.Name)
	if n.Space != parentSpace {
		b.WriteString(` xmlns="`)
		escapeNodeText(b, n.Space)
		b.WriteString(`"`)
	}
	if n.Text == "" && len(n.Children) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteString(">")
	escapeNodeText(b, n.Text)
	for _, c := range n.Children {
		renderNode(b, c, n.Space)
	}
	b.WriteString("</" + n.Name + ">")
}

func escapeNodeText(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(r)
		}
	}
}

func nodeChild(n *Node, name string) *Node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// markOpaqueData sets Data.Opaque on the Items whose Data element was
// opaque. It walks body in the order decodeBody and decodeCommand used, so
// the i-th command or Item element matches the i-th model entry. The index
// checks only guard against a mismatch, which would be a bug here.
func markOpaqueData(body *Node, b *Body) {
	i := 0
	for _, c := range body.Children {
		if c.Name == "Final" {
			continue
		}
		if i < len(b.Commands) {
			markCommandOpaque(c, &b.Commands[i])
		}
		i++
	}
}

func markCommandOpaque(n *Node, cmd *Command) {
	items, commands := 0, 0
	for _, c := range n.Children {
		switch c.Name {
		case "CmdID", "NoResp", "MsgRef", "CmdRef", "Cmd", "TargetRef",
			"SourceRef", "Chal", "Correlator", "Meta", "Data":
			continue
		case "Item":
			if items < len(cmd.Items) {
				markItemOpaque(c, &cmd.Items[items])
			}
			items++
		default:
			if !containerNames[n.Name] || ignoredCommandFields[c.Name] {
				continue
			}
			if commands < len(cmd.Commands) {
				markCommandOpaque(c, &cmd.Commands[commands])
			}
			commands++
		}
	}
}

// markItemOpaque marks the Item's Data when its first Data element, the one
// decodeItem kept, was opaque.
func markItemOpaque(n *Node, item *Item) {
	data := nodeChild(n, "Data")
	if data == nil || item.Data == nil {
		return
	}
	if data.Opaque && len(data.Children) == 0 {
		item.Data.Opaque = true
	}
}
