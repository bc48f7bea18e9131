package dmtree

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// URI limits, as DevDetail/URI publishes them. Zero means unlimited. A URI
// over a limit is rejected with 414.
var (
	// MaxDepth is the maximum number of segments.
	MaxDepth = 16
	// MaxTotLen is the maximum length of the canonical URI in characters.
	MaxTotLen = 1024
	// MaxSegLen is the maximum length of one segment in characters.
	MaxSegLen = 64
)

// URI is a canonical management tree URI: its segments without "./".
// The zero URI is the root ".".
type URI struct{ segments []string }

// ParseURI canonicalises s ("./A/B" and "A/B" are the same URI) and rejects
// a trailing "/", "." or ".." segments other than a leading "./", and empty
// segments, with a *StatusError (400, or 414 over the limits). The root is
// written ".". A "?" is rejected too: ParseTarget splits off a query first.
func ParseURI(s string) (URI, error) {
	if s == "." {
		return URI{}, nil
	}
	if s == "" {
		return URI{}, Errorf(400, "invalid URI: empty, use \".\" for the root")
	}
	if !utf8.ValidString(s) {
		return URI{}, Errorf(400, "invalid URI %q: not UTF-8", s)
	}
	rest := strings.TrimPrefix(s, "./")

	// Check the total length before splitting, so a huge input costs no
	// allocation per segment.
	if MaxTotLen > 0 && utf8.RuneCountInString(rest) > MaxTotLen {
		return URI{}, Errorf(414, "URI longer than %d characters", MaxTotLen)
	}
	if MaxDepth > 0 && strings.Count(rest, "/") >= MaxDepth {
		return URI{}, Errorf(414, "URI deeper than %d segments", MaxDepth)
	}

	segments := strings.Split(rest, "/")
	for _, seg := range segments {
		if err := checkSegment(seg); err != nil {
			return URI{}, Errorf(400, "invalid URI %q: %v", s, err)
		}
		if MaxSegLen > 0 && utf8.RuneCountInString(seg) > MaxSegLen {
			return URI{}, Errorf(414, "URI segment longer than %d characters", MaxSegLen)
		}
	}
	return URI{segments: segments}, nil
}

// checkSegment rejects a segment that cannot be a node name.
func checkSegment(seg string) error {
	switch seg {
	case "":
		return errors.New("empty segment")
	case ".", "..":
		return fmt.Errorf("%q segment", seg)
	}
	for _, r := range seg {
		if r == '?' || r == '/' || !unicode.IsPrint(r) {
			return fmt.Errorf("segment %q contains %q", seg, r)
		}
	}
	return nil
}

// String returns the canonical form without a leading "./" ("" for root
// is returned as ".").
func (u URI) String() string {
	if len(u.segments) == 0 {
		return "."
	}
	return strings.Join(u.segments, "/")
}

// Segments returns a copy of the URI's segments.
func (u URI) Segments() []string { return append([]string(nil), u.segments...) }

// IsRoot reports whether u is the root ".".
func (u URI) IsRoot() bool { return len(u.segments) == 0 }

// Name returns the last segment, or "." for the root.
func (u URI) Name() string {
	if u.IsRoot() {
		return "."
	}
	return u.segments[len(u.segments)-1]
}

// Parent returns the URI one segment up; the parent of the root is the root.
func (u URI) Parent() URI {
	if u.IsRoot() {
		return u
	}
	return URI{segments: u.segments[: len(u.segments)-1 : len(u.segments)-1]}
}

// Child returns the URI of the child called name. The name is not checked:
// use it with names taken from the tree or from a parsed URI.
func (u URI) Child(name string) URI {
	segs := make([]string, 0, len(u.segments)+1)
	segs = append(segs, u.segments...)
	return URI{segments: append(segs, name)}
}

// Equal reports whether u and v name the same node.
func (u URI) Equal(v URI) bool {
	if len(u.segments) != len(v.segments) {
		return false
	}
	for i := range u.segments {
		if u.segments[i] != v.segments[i] {
			return false
		}
	}
	return true
}

// Target is a command target: a URI with an optional "?prop=" or "?list="
// query.
type Target struct {
	URI URI
	// Prop is the property name of a "?prop=Name" target, empty otherwise.
	Prop string
	// List is the value of a "?list=..." target (for example "Struct" or
	// "TNDS+ACL"), empty otherwise.
	List string
}

// ParseTarget parses a LocURI that may end in "?prop=Name" or "?list=...".
// The URI part goes through ParseURI; any other query, or an empty property
// name or list value, is rejected with 400.
func ParseTarget(s string) (Target, error) {
	path, query, hasQuery := strings.Cut(s, "?")
	uri, err := ParseURI(path)
	if err != nil {
		return Target{}, err
	}
	t := Target{URI: uri}
	if !hasQuery {
		return t, nil
	}

	key, value, _ := strings.Cut(query, "=")
	if value == "" || strings.ContainsAny(value, "?&=") {
		return Target{}, Errorf(400, "invalid query %q in %q: expected prop=Name or list=Value", query, s)
	}
	switch key {
	case "prop":
		t.Prop = value
	case "list":
		t.List = value
	default:
		return Target{}, Errorf(400, "invalid query %q in %q: expected prop=Name or list=Value", query, s)
	}
	return t, nil
}
