// Package syncml holds the OMA DM 1.2 (SyncML DTD 1.2) message model and
// its XML representation. It does no I/O: callers hand it bytes and get
// bytes back.
package syncml

// Namespaces and fixed header values of OMA DM 1.2.
const (
	NamespaceSyncML = "SYNCML:SYNCML1.2"
	NamespaceMetInf = "syncml:metinf"
	VerDTD12        = "1.2"
	VerProtoDM12    = "DM/1.2"
	VerProtoDM13    = "DM/1.3"

	ContentTypeXML   = "application/vnd.syncml.dm+xml"
	ContentTypeWBXML = "application/vnd.syncml.dm+wbxml"
)

// Command names as they appear in the XML element name and in Status/Cmd.
const (
	CmdAdd      = "Add"
	CmdAlert    = "Alert"
	CmdAtomic   = "Atomic"
	CmdCopy     = "Copy"
	CmdDelete   = "Delete"
	CmdExec     = "Exec"
	CmdGet      = "Get"
	CmdReplace  = "Replace"
	CmdResults  = "Results"
	CmdSequence = "Sequence"
	CmdStatus   = "Status"
	// CmdSyncHdr is the Cmd value of the Status that answers a SyncHdr.
	CmdSyncHdr = "SyncHdr"
)

// Message is one SyncML message: a header and an ordered body.
type Message struct {
	Header Header
	Body   Body
}

// Header is the SyncHdr element. Every string field is opaque: "0" is a
// valid SessionID or MsgID, and an empty string means the element is absent.
type Header struct {
	VerDTD    string
	VerProto  string
	SessionID string
	MsgID     string
	Target    Locator
	Source    Locator
	RespURI   string
	NoResp    bool
	Cred      *Cred
	Meta      *Meta
}

// Locator is a Target or Source element: a LocURI and an optional LocName.
type Locator struct {
	LocURI  string
	LocName string
}

// Cred is the credential element of a SyncHdr.
type Cred struct {
	Meta *Meta
	Data string
}

// Chal is the authentication challenge carried by a 401 or 407 Status.
type Chal struct {
	Meta *Meta
}

// Body is the SyncBody: commands in the order they appeared, then Final.
type Body struct {
	Commands []Command
	Final    bool
}

// Command is one body command. Name selects which fields apply:
//
//   - Add, Copy, Delete, Exec, Get, Replace: CmdID, NoResp, Meta, Items
//     (Exec also Correlator).
//   - Alert: CmdID, Data (the alert code), Correlator, Items.
//   - Atomic, Sequence: CmdID, NoResp, Meta, Commands (the children in order).
//   - Status: CmdID, MsgRef, CmdRef, Cmd, TargetRefs, SourceRefs, Chal,
//     Items, Data (the status code).
//   - Results: CmdID, MsgRef, CmdRef, Meta, TargetRefs, SourceRefs, Items.
type Command struct {
	Name       string
	CmdID      string
	NoResp     bool
	MsgRef     string
	CmdRef     string
	Cmd        string
	TargetRefs []string
	SourceRefs []string
	Chal       *Chal
	Correlator string
	Meta       *Meta
	Data       string
	Items      []Item
	Commands   []Command
}

// Item is an Item element. A nil Data means the element was absent; a
// non-nil Data with an empty Value is an empty <Data/>, which is kept.
type Item struct {
	Target   *Locator
	Source   *Locator
	Meta     *Meta
	Data     *Data
	MoreData bool
}

// Data is the content of an Item's Data element.
type Data struct {
	// Value is the character content with CDATA sections unwrapped, the raw
	// inner XML when XML is true, or the raw bytes when Opaque is true.
	Value string
	// XML is true when the element held child elements (a TNDS MgmtTree, for
	// example) rather than text.
	XML bool
	// Opaque is true when the value arrived as WBXML OPAQUE data.
	Opaque bool
}

// Meta is a Meta element with the MetInf fields OMA DM uses. An empty string
// means the field is absent.
type Meta struct {
	Format     string
	Type       string
	Mark       string
	Size       string
	NextNonce  string
	MaxMsgSize string
	MaxObjSize string
	Version    string
}

// NewData returns a Data holding the given text value.
func NewData(value string) *Data { return &Data{Value: value} }
