package syncml

import (
	"fmt"
	"strconv"
)

// Violation is one rule a message breaks, at a path such as
// "SyncBody/Replace[2]/Item[1]/Target". Paths start below the SyncML root.
// A position in brackets counts siblings of the same name from 1.
type Violation struct {
	Path string
	Rule string
}

// String returns "path: rule".
func (v Violation) String() string { return v.Path + ": " + v.Rule }

// Validate checks m against the OMA DM 1.2 rules and returns every
// violation it finds, in document order, or nil when there is none. It
// checks:
//
//   - SyncHdr: VerDTD 1.2, VerProto DM/1.2 or DM/1.3, SessionID, MsgID,
//     Target and Source LocURI, Cred Data, numeric MaxMsgSize and MaxObjSize;
//   - every command: a known DM command name, a CmdID unique in the message;
//   - Status: MsgRef, CmdRef, Cmd and a numeric status code in Data;
//   - Alert: a numeric alert code in Data, Meta Type on Generic Alert items;
//   - Results: CmdRef and at least one Item;
//   - Add, Copy, Delete, Exec, Get: Items with a Target LocURI (Copy also a
//     Source LocURI), exactly one Item in Exec; Replace: Items with a Target
//     or Source LocURI;
//   - Atomic holds only Add, Alert, Copy, Delete and Replace, Sequence only
//     Add, Alert, Copy, Delete, Exec, Get and Replace, and neither is empty;
//   - Items: Data present when Meta Format is set, numeric Meta Size.
//
// Cred outside SyncHdr cannot be expressed in the model, so it needs no check.
func Validate(m *Message) []Violation {
	if m == nil {
		return []Violation{{Path: "SyncML", Rule: "message is nil"}}
	}

	v := &validator{cmdIDs: map[string]string{}}
	v.header(&m.Header)
	counts := map[string]int{}
	for i := range m.Body.Commands {
		c := &m.Body.Commands[i]
		counts[c.Name]++
		v.command(childPath("SyncBody", c.Name, counts[c.Name]), c, "")
	}
	return v.found
}

type validator struct {
	found []Violation
	// cmdIDs maps each CmdID seen to the path of its command.
	cmdIDs map[string]string
}

func (v *validator) add(path, format string, args ...any) {
	v.found = append(v.found, Violation{Path: path, Rule: fmt.Sprintf(format, args...)})
}

func (v *validator) required(path, value string) {
	if value == "" {
		v.add(path, "missing")
	}
}

func (v *validator) numeric(path, value string) {
	if value == "" {
		return
	}
	if _, err := strconv.ParseUint(value, 10, 32); err != nil {
		v.add(path, "%q is not an unsigned decimal number", value)
	}
}

func (v *validator) header(h *Header) {
	const path = "SyncHdr"
	switch h.VerDTD {
	case "":
		v.add(path+"/VerDTD", "missing")
	case VerDTD12:
	default:
		v.add(path+"/VerDTD", "%q is not supported, expected %q", h.VerDTD, VerDTD12)
	}
	switch h.VerProto {
	case "":
		v.add(path+"/VerProto", "missing")
	case VerProtoDM12, VerProtoDM13:
	default:
		v.add(path+"/VerProto", "%q is not supported, expected %q or %q",
			h.VerProto, VerProtoDM12, VerProtoDM13)
	}
	v.required(path+"/SessionID", h.SessionID)
	v.required(path+"/MsgID", h.MsgID)
	v.required(path+"/Target/LocURI", h.Target.LocURI)
	v.required(path+"/Source/LocURI", h.Source.LocURI)

	if h.Cred != nil {
		v.required(path+"/Cred/Data", h.Cred.Data)
		v.meta(path+"/Cred", h.Cred.Meta)
	}
	v.meta(path, h.Meta)
}

func (v *validator) meta(path string, m *Meta) {
	if m == nil {
		return
	}
	path += "/Meta"
	v.numeric(path+"/Size", m.Size)
	v.numeric(path+"/MaxMsgSize", m.MaxMsgSize)
	v.numeric(path+"/MaxObjSize", m.MaxObjSize)
}

// allowedChildren lists the commands each container may hold in DM 1.2.
var allowedChildren = map[string]map[string]bool{
	CmdAtomic: {CmdAdd: true, CmdAlert: true, CmdCopy: true, CmdDelete: true,
		CmdReplace: true},
	CmdSequence: {CmdAdd: true, CmdAlert: true, CmdCopy: true, CmdDelete: true,
		CmdExec: true, CmdGet: true, CmdReplace: true},
}

// command checks c at path. parent is the name of the enclosing Atomic or
// Sequence, or "" for a SyncBody command.
func (v *validator) command(path string, c *Command, parent string) {
	if parent != "" && !allowedChildren[parent][c.Name] {
		v.add(path, "%s is not allowed inside %s", c.Name, parent)
	}
	v.cmdID(path, c.CmdID)

	switch c.Name {
	case CmdStatus:
		v.status(path, c)
	case CmdAlert:
		v.alert(path, c)
	case CmdResults:
		v.required(path+"/CmdRef", c.CmdRef)
		v.items(path, c, false)
	case CmdAdd, CmdDelete, CmdGet:
		v.items(path, c, true)
	case CmdReplace:
		// A client sends its DevInfo in a Replace addressed by Source.
		v.items(path, c, false)
		for i := range c.Items {
			if !hasLocURI(c.Items[i].Target) && !hasLocURI(c.Items[i].Source) {
				v.add(childPath(path, "Item", i+1)+"/Target/LocURI",
					"missing (a Replace Item needs a Target or Source LocURI)")
			}
		}
	case CmdCopy:
		v.items(path, c, true)
		for i := range c.Items {
			if !hasLocURI(c.Items[i].Source) {
				v.add(childPath(path, "Item", i+1)+"/Source/LocURI", "missing")
			}
		}
	case CmdExec:
		if len(c.Items) > 1 {
			v.add(path, "Exec carries %d Items, expected exactly 1", len(c.Items))
		}
		v.items(path, c, true)
	case CmdAtomic, CmdSequence:
		v.container(path, c)
	default:
		v.add(path, "%q is not an OMA DM 1.2 command", c.Name)
	}
	v.meta(path, c.Meta)
}

func (v *validator) cmdID(path, id string) {
	if id == "" {
		v.add(path+"/CmdID", "missing")
		return
	}
	if first, ok := v.cmdIDs[id]; ok {
		v.add(path+"/CmdID", "%q is already used by %s", id, first)
		return
	}
	v.cmdIDs[id] = path
}

func (v *validator) status(path string, c *Command) {
	v.required(path+"/MsgRef", c.MsgRef)
	v.required(path+"/CmdRef", c.CmdRef)
	v.required(path+"/Cmd", c.Cmd)
	if c.Data == "" {
		v.add(path+"/Data", "missing")
	} else if _, err := c.StatusCode(); err != nil {
		v.add(path+"/Data", "%q is not a status code", c.Data)
	}
	if c.Chal != nil && c.Chal.Meta == nil {
		v.add(path+"/Chal/Meta", "missing")
	}
	for i := range c.Items {
		v.item(childPath(path, "Item", i+1), &c.Items[i], false)
	}
}

func (v *validator) alert(path string, c *Command) {
	code, err := c.AlertCode()
	switch {
	case c.Data == "":
		v.add(path+"/Data", "missing")
	case err != nil:
		v.add(path+"/Data", "%q is not an alert code", c.Data)
	}

	for i := range c.Items {
		itemPath := childPath(path, "Item", i+1)
		it := &c.Items[i]
		v.item(itemPath, it, false)
		generic := code == AlertGeneric || code == AlertClientEvent
		if generic && (it.Meta == nil || it.Meta.Type == "") {
			v.add(itemPath+"/Meta/Type", "missing (required in Alert %d items)", code)
		}
	}
}

// items checks that c has at least one Item and checks each of them.
func (v *validator) items(path string, c *Command, needTarget bool) {
	if len(c.Items) == 0 {
		v.add(path+"/Item", "missing (%s needs at least one Item)", c.Name)
	}
	for i := range c.Items {
		v.item(childPath(path, "Item", i+1), &c.Items[i], needTarget)
	}
}

func (v *validator) item(path string, it *Item, needTarget bool) {
	if needTarget && !hasLocURI(it.Target) {
		v.add(path+"/Target/LocURI", "missing")
	}
	// Interior nodes (Format node) and null leaves have no value, so their
	// Items may leave Data out, as the Add of an interior node commonly does.
	if it.Meta != nil && it.Meta.Format != "" && it.Meta.Format != "node" &&
		it.Meta.Format != "null" && it.Data == nil {
		v.add(path+"/Data", "missing (an Item with Meta Format %q must carry Data)",
			it.Meta.Format)
	}
	if it.MoreData && it.Data == nil {
		v.add(path+"/Data", "missing (an Item with MoreData must carry Data)")
	}
	v.meta(path, it.Meta)
}

func (v *validator) container(path string, c *Command) {
	if len(c.Commands) == 0 {
		v.add(path, "%s holds no commands", c.Name)
	}
	counts := map[string]int{}
	for i := range c.Commands {
		child := &c.Commands[i]
		counts[child.Name]++
		v.command(childPath(path, child.Name, counts[child.Name]), child, c.Name)
	}
}

func hasLocURI(l *Locator) bool { return l != nil && l.LocURI != "" }
