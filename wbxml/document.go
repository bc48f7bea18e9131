// Package wbxml reads and writes WBXML 1.1 to 1.3 (WAP Binary XML)
// documents with the SyncML DM 1.2 code pages, and converts SyncML messages
// between WBXML and the syncml model. It does no I/O.
//
// Decode and Encode work on a small element tree (Document and Element).
// DecodeSyncML and EncodeSyncML convert whole SyncML messages, and IsWBXML
// tells WBXML input from XML input.
package wbxml

// Document is a decoded WBXML document.
type Document struct {
	// Version is the WBXML version byte: 0x01, 0x02 or 0x03 for 1.1 to 1.3.
	Version byte
	// PublicID is the numeric public identifier, or 0 when the document
	// names it through the string table.
	PublicID uint32
	// PublicIDString is the formal public identifier read from the string
	// table when PublicID is 0, and empty otherwise.
	PublicIDString string
	// Charset is the IANA MIBenum of the character set. Decode accepts
	// only CharsetUTF8.
	Charset uint32
	// StringTable is the raw string table.
	StringTable []byte
	// Root is the document element.
	Root *Element
}

// Element is one WBXML element.
type Element struct {
	// Name is the tag name from the code page, or the string-table name of
	// a LITERAL tag.
	Name string
	// Page is the code page the tag token came from. It is meaningless for
	// a LITERAL tag.
	Page byte
	// Literal is true when the tag came from a LITERAL token.
	Literal bool
	// Text is the character content: every inline string, string-table
	// reference, entity and opaque chunk of the element, concatenated.
	Text []byte
	// Opaque is true when any part of Text came from an OPAQUE token.
	Opaque bool
	// Children are the child elements in document order.
	Children []*Element
}
