package wbxml

// Global tokens of WBXML 1.3, valid on every code page.
const (
	tokenSwitchPage = 0x00
	tokenEnd        = 0x01
	tokenEntity     = 0x02
	tokenStrI       = 0x03
	tokenLiteral    = 0x04
	tokenExtI0      = 0x40
	tokenExtI2      = 0x42
	tokenPI         = 0x43
	tokenLiteralC   = 0x44
	tokenExtT0      = 0x80
	tokenExtT2      = 0x82
	tokenStrT       = 0x83
	tokenLiteralA   = 0x84
	tokenExt0       = 0xC0
	tokenExt2       = 0xC2
	tokenOpaque     = 0xC3
	tokenLiteralAC  = 0xC4
)

// Bits of a tag token: the low six bits select the tag on the current page.
const (
	tagHasContent    = 0x40
	tagHasAttributes = 0x80
	tagMask          = 0x3F
)

// Public identifiers of the SyncML documents. A document may also name its
// public identifier as a string-table entry holding the formal public
// identifier (FPI).
const (
	PublicIDUnknown  = 0x01
	PublicIDSyncML10 = 0x0FD1
	PublicIDSyncML11 = 0x0FD3
	PublicIDSyncML12 = 0x1201

	FPISyncML10 = "-//SYNCML//DTD SyncML 1.0//EN"
	FPISyncML11 = "-//SYNCML//DTD SyncML 1.1//EN"
	FPISyncML12 = "-//SYNCML//DTD SyncML 1.2//EN"
)

// CharsetUTF8 is the IANA MIBenum of UTF-8, the only charset this package
// reads and writes.
const CharsetUTF8 = 106

// Code pages of the SyncML DM tag tables.
const (
	PageSyncML = 0
	PageMetInf = 1
	PageDMDDF  = 2
)

// Namespaces that the code pages stand for in XML.
const (
	NamespaceSyncML12 = "SYNCML:SYNCML1.2"
	NamespaceMetInf   = "syncml:metinf"
	NamespaceDMDDF12  = "syncml:dmddf1.2"
)

// pageNamespaces maps each code page to its XML namespace.
var pageNamespaces = [...]string{
	PageSyncML: NamespaceSyncML12,
	PageMetInf: NamespaceMetInf,
	PageDMDDF:  NamespaceDMDDF12,
}

// syncMLTags is code page 0, SyncML 1.2. Token 0x30 is reserved. SyncML 1.1
// uses the same tokens for every element DM uses.
var syncMLTags = map[byte]string{
	0x05: "Add", 0x06: "Alert", 0x07: "Archive", 0x08: "Atomic", 0x09: "Chal",
	0x0A: "Cmd", 0x0B: "CmdID", 0x0C: "CmdRef", 0x0D: "Copy", 0x0E: "Cred",
	0x0F: "Data", 0x10: "Delete", 0x11: "Exec", 0x12: "Final", 0x13: "Get",
	0x14: "Item", 0x15: "Lang", 0x16: "LocName", 0x17: "LocURI", 0x18: "Map",
	0x19: "MapItem", 0x1A: "Meta", 0x1B: "MsgID", 0x1C: "MsgRef", 0x1D: "NoResp",
	0x1E: "NoResults", 0x1F: "Put", 0x20: "Replace", 0x21: "RespURI",
	0x22: "Results", 0x23: "Search", 0x24: "Sequence", 0x25: "SessionID",
	0x26: "SftDel", 0x27: "Source", 0x28: "SourceRef", 0x29: "Status",
	0x2A: "Sync", 0x2B: "SyncBody", 0x2C: "SyncHdr", 0x2D: "SyncML",
	0x2E: "Target", 0x2F: "TargetRef", 0x31: "VerDTD", 0x32: "VerProto",
	0x33: "NumberOfChanges", 0x34: "MoreData", 0x35: "Field", 0x36: "Filter",
	0x37: "Record", 0x38: "FilterType", 0x39: "SourceParent",
	0x3A: "TargetParent", 0x3B: "Move", 0x3C: "Correlator",
}

// metInfTags is code page 1, MetInf 1.2.
var metInfTags = map[byte]string{
	0x05: "Anchor", 0x06: "EMI", 0x07: "Format", 0x08: "FreeID", 0x09: "FreeMem",
	0x0A: "Last", 0x0B: "Mark", 0x0C: "MaxMsgSize", 0x0D: "Mem", 0x0E: "MetInf",
	0x0F: "Next", 0x10: "NextNonce", 0x11: "SharedMem", 0x12: "Size", 0x13: "Type",
	0x14: "Version", 0x15: "MaxObjSize", 0x16: "FieldLevel",
}

// dmDDFTags is code page 2, DM DDF 1.2, which TNDS trees also use.
var dmDDFTags = map[byte]string{
	0x05: "AccessType", 0x06: "ACL", 0x07: "Add", 0x08: "b64", 0x09: "bin",
	0x0A: "bool", 0x0B: "chr", 0x0C: "CaseSense", 0x0D: "CIS", 0x0E: "Copy",
	0x0F: "CS", 0x10: "date", 0x11: "DDFName", 0x12: "DefaultValue",
	0x13: "Delete", 0x14: "Description", 0x15: "DFFormat", 0x16: "DFProperties",
	0x17: "DFTitle", 0x18: "DFType", 0x19: "Dynamic", 0x1A: "Exec", 0x1B: "float",
	0x1C: "Format", 0x1D: "Get", 0x1E: "int", 0x1F: "Man", 0x20: "MgmtTree",
	0x21: "MIME", 0x22: "Mod", 0x23: "Name", 0x24: "Node", 0x25: "node",
	0x26: "NodeName", 0x27: "null", 0x28: "Occurrence", 0x29: "One",
	0x2A: "OneOrMore", 0x2B: "OneOrN", 0x2C: "Path", 0x2D: "Permanent",
	0x2E: "Replace", 0x2F: "RTProperties", 0x30: "Scope", 0x31: "Size",
	0x32: "time", 0x33: "Title", 0x34: "TStamp", 0x35: "Type", 0x36: "Value",
	0x37: "VerDTD", 0x38: "VerNo", 0x39: "xml", 0x3A: "ZeroOrMore",
	0x3B: "ZeroOrN", 0x3C: "ZeroOrOne",
}

// pageTags lists the tag table of each code page, indexed by page number.
var pageTags = [...]map[byte]string{
	PageSyncML: syncMLTags,
	PageMetInf: metInfTags,
	PageDMDDF:  dmDDFTags,
}

// pageTokens is the inverse of pageTags: element name to token per page.
var pageTokens = invertTables()

func invertTables() [len(pageTags)]map[string]byte {
	var out [len(pageTags)]map[string]byte
	for page, tags := range pageTags {
		out[page] = make(map[string]byte, len(tags))
		for token, name := range tags {
			out[page][name] = token
		}
	}
	return out
}
