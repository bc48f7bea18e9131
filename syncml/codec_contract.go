package syncml

// This file lists the codec's entry points. TODO: replace the stubs with the
// implementation and delete this comment.

// DefaultMaxMessageSize is the size cap Decode applies before parsing.
const DefaultMaxMessageSize = 1 << 20

// Decode parses an XML SyncML message leniently (missing or upper-case
// namespaces, CDATA, whitespace around LocURI, DM 1.1 messages). Input larger
// than DefaultMaxMessageSize is rejected before parsing.
func Decode(data []byte) (*Message, error) { panic("syncml: not implemented") }

// Encode writes m as XML, elements in DTD order, zero values kept.
func Encode(m *Message) ([]byte, error) { panic("syncml: not implemented") }

// Validate checks m against the DM 1.2 rules and returns every violation
// found (nil when there is none).
func Validate(m *Message) []Violation { panic("syncml: not implemented") }

// Violation is one rule a message breaks, at a path such as
// "SyncBody/Replace[2]/Item[1]/Target".
type Violation struct {
	Path string
	Rule string
}
