package syncml

import (
	"fmt"
	"strings"
)

// Decode parses an XML SyncML message leniently. It accepts:
//
//   - a missing namespace or any casing of SYNCML:SYNCML1.x, and MetInf
//     elements with or without the syncml:metinf namespace;
//   - DM 1.1 messages (VerDTD 1.1) and a DOCTYPE naming an external DTD;
//   - CDATA sections and comments anywhere;
//   - whitespace around identifiers (LocURI, LocName, CmdID, MsgRef, Meta
//     fields, status and alert codes, Cred Data), which it trims;
//   - MetInf elements placed directly in Item instead of inside Meta;
//   - a missing SyncHdr or SyncBody, which leaves that part empty;
//   - commands that DM does not define (Sync, Put, ...), kept by name so
//     the receiver can return a Status for them.
//
// Item Data keeps its text exactly, except that CDATA is unwrapped and
// comments dropped. Data holding child elements keeps its raw inner XML with
// Data.XML set. An empty <Data/> becomes a non-nil Data with an empty Value.
//
// Decode rejects input larger than DefaultMaxMessageSize before parsing,
// input that is not well-formed XML (a bare "&" included), DOCTYPE internal
// subsets and entity declarations, encodings other than UTF-8, a root other
// than SyncML, and elements nested too deep. Errors name the element path and
// the line, as in "decode SyncBody/Replace[2]/Item[1]: line 40: ...".
// Decode does not check the DM rules; Validate does.
func Decode(data []byte) (*Message, error) {
	if len(data) > DefaultMaxMessageSize {
		return nil, fmt.Errorf("decode: message is %d bytes, larger than the %d-byte limit",
			len(data), DefaultMaxMessageSize)
	}

	root, err := parseTree(data)
	if err != nil {
		return nil, err
	}
	if root.name != "SyncML" {
		return nil, fmt.Errorf("decode: line %d: root element is <%s>, expected <SyncML>",
			root.line, root.name)
	}
	if !isSyncMLNamespace(root.space) {
		return nil, fmt.Errorf("decode: line %d: root namespace %q is not a SyncML namespace",
			root.line, root.space)
	}

	m := &Message{}
	if hdr := root.child("SyncHdr"); hdr != nil {
		m.Header = decodeHeader(hdr)
	}
	if body := root.child("SyncBody"); body != nil {
		if m.Body, err = decodeBody(body); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func decodeHeader(e *element) Header {
	var h Header
	for _, c := range e.children {
		switch c.name {
		case "VerDTD":
			h.VerDTD = firstText(h.VerDTD, c)
		case "VerProto":
			h.VerProto = firstText(h.VerProto, c)
		case "SessionID":
			h.SessionID = firstText(h.SessionID, c)
		case "MsgID":
			h.MsgID = firstText(h.MsgID, c)
		case "Target":
			h.Target = decodeLocator(c)
		case "Source":
			h.Source = decodeLocator(c)
		case "RespURI":
			h.RespURI = firstText(h.RespURI, c)
		case "NoResp":
			h.NoResp = true
		case "Cred":
			if h.Cred == nil {
				h.Cred = decodeCred(c)
			}
		case "Meta":
			if h.Meta == nil {
				h.Meta = decodeMeta(c)
			}
		}
	}
	return h
}

// firstText returns current if it is already set, so the first of repeated
// elements wins, and the trimmed text of e otherwise.
func firstText(current string, e *element) string {
	if current != "" {
		return current
	}
	return e.trimmed()
}

func decodeLocator(e *element) Locator {
	var l Locator
	if c := e.child("LocURI"); c != nil {
		l.LocURI = c.trimmed()
	}
	if c := e.child("LocName"); c != nil {
		l.LocName = c.trimmed()
	}
	return l
}

func decodeCred(e *element) *Cred {
	cred := &Cred{}
	if c := e.child("Meta"); c != nil {
		cred.Meta = decodeMeta(c)
	}
	if c := e.child("Data"); c != nil {
		cred.Data = c.trimmed()
	}
	return cred
}

// decodeMeta reads the MetInf fields of a Meta element. Fields DM does not
// use (Anchor, EMI, Mem, ...) are ignored.
func decodeMeta(e *element) *Meta {
	meta := &Meta{}
	for _, c := range e.children {
		setMetInf(meta, c)
	}
	return meta
}

// setMetInf stores c in meta if c is a MetInf field that is still unset, and
// reports whether c is a MetInf field.
func setMetInf(meta *Meta, c *element) bool {
	var field *string
	switch c.name {
	case "Format":
		field = &meta.Format
	case "Type":
		field = &meta.Type
	case "Mark":
		field = &meta.Mark
	case "Size":
		field = &meta.Size
	case "NextNonce":
		field = &meta.NextNonce
	case "MaxMsgSize":
		field = &meta.MaxMsgSize
	case "MaxObjSize":
		field = &meta.MaxObjSize
	case "Version":
		field = &meta.Version
	default:
		return false
	}
	*field = firstText(*field, c)
	return true
}

func decodeBody(e *element) (Body, error) {
	var b Body
	for _, c := range e.children {
		if c.name == "Final" {
			b.Final = true
			continue
		}
		cmd, err := decodeCommand(c, childPath("SyncBody", c.name, c.pos), 1)
		if err != nil {
			return Body{}, err
		}
		b.Commands = append(b.Commands, cmd)
	}
	return b, nil
}

// containerNames lists the commands whose child elements, other than the
// command fields, are nested commands.
var containerNames = map[string]bool{
	CmdAtomic: true, CmdSequence: true, "Sync": true,
}

// ignoredCommandFields lists SyncML elements that may appear in a command but
// that OMA DM does not use, so they are neither fields nor nested commands.
var ignoredCommandFields = map[string]bool{
	"Cred": true, "Lang": true, "Archive": true, "SftDel": true,
	"NoResults": true, "NumberOfChanges": true, "Target": true, "Source": true,
}

func decodeCommand(e *element, path string, depth int) (Command, error) {
	if depth > maxCommandDepth {
		return Command{}, fmt.Errorf("decode %s: line %d: commands nested deeper than %d",
			path, e.line, maxCommandDepth)
	}

	cmd := Command{Name: e.name}
	for _, c := range e.children {
		switch c.name {
		case "CmdID":
			cmd.CmdID = firstText(cmd.CmdID, c)
		case "NoResp":
			cmd.NoResp = true
		case "MsgRef":
			cmd.MsgRef = firstText(cmd.MsgRef, c)
		case "CmdRef":
			cmd.CmdRef = firstText(cmd.CmdRef, c)
		case "Cmd":
			cmd.Cmd = firstText(cmd.Cmd, c)
		case "TargetRef":
			cmd.TargetRefs = append(cmd.TargetRefs, c.trimmed())
		case "SourceRef":
			cmd.SourceRefs = append(cmd.SourceRefs, c.trimmed())
		case "Chal":
			if cmd.Chal == nil {
				cmd.Chal = &Chal{}
				if meta := c.child("Meta"); meta != nil {
					cmd.Chal.Meta = decodeMeta(meta)
				}
			}
		case "Correlator":
			cmd.Correlator = firstText(cmd.Correlator, c)
		case "Meta":
			if cmd.Meta == nil {
				cmd.Meta = decodeMeta(c)
			}
		case "Data":
			cmd.Data = firstText(cmd.Data, c)
		case "Item":
			cmd.Items = append(cmd.Items, decodeItem(c))
		default:
			if !containerNames[e.name] || ignoredCommandFields[c.name] {
				continue
			}
			child, err := decodeCommand(c, childPath(path, c.name, c.pos), depth+1)
			if err != nil {
				return Command{}, err
			}
			cmd.Commands = append(cmd.Commands, child)
		}
	}
	return cmd, nil
}

func decodeItem(e *element) Item {
	var item Item
	var loose []*element
	for _, c := range e.children {
		switch c.name {
		case "Target":
			if item.Target == nil {
				l := decodeLocator(c)
				item.Target = &l
			}
		case "Source":
			if item.Source == nil {
				l := decodeLocator(c)
				item.Source = &l
			}
		case "Meta":
			if item.Meta == nil {
				item.Meta = decodeMeta(c)
			}
		case "Data":
			if item.Data == nil {
				item.Data = decodeData(c)
			}
		case "MoreData":
			item.MoreData = true
		default:
			loose = append(loose, c)
		}
	}

	// Some Windows clients put MetInf elements straight into Item. Fold them
	// into Meta; a field already set inside Meta wins.
	for _, c := range loose {
		var probe Meta
		if !setMetInf(&probe, c) {
			continue
		}
		if item.Meta == nil {
			item.Meta = &Meta{}
		}
		setMetInf(item.Meta, c)
	}
	return item
}

func decodeData(e *element) *Data {
	if len(e.children) > 0 {
		return &Data{Value: e.raw, XML: true}
	}
	return &Data{Value: e.value()}
}

// isSyncMLNamespace accepts no namespace and any casing of SYNCML:SYNCML1.x.
func isSyncMLNamespace(space string) bool {
	if space == "" {
		return true
	}
	return strings.HasPrefix(strings.ToUpper(trimXMLSpace(space)), "SYNCML:SYNCML1.")
}
