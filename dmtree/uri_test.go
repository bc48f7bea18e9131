package dmtree

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{".", "."},
		{"A", "A"},
		{"./A", "A"},
		{"./A/B", "A/B"},
		{"A/B", "A/B"},
		{"VirMO/vm 1/State", "VirMO/vm 1/State"},
		{"./Ä/ü", "Ä/ü"},
		{"a.b/..c", "a.b/..c"},
	}
	for _, tt := range tests {
		u, err := ParseURI(tt.in)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", tt.in, err)
			continue
		}
		if got := u.String(); got != tt.want {
			t.Errorf("ParseURI(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseURIRejects(t *testing.T) {
	deep := strings.Repeat("a/", MaxDepth) + "a"
	tests := []struct {
		in   string
		code int
	}{
		{"", 400},
		{"./", 400},
		{"A/", 400},
		{"/A", 400},
		{"A//B", 400},
		{"..", 400},
		{"A/../B", 400},
		{"A/./B", 400},
		{"./.", 400},
		{"././A", 400},
		{".//A", 400},
		{"A?prop=ACL", 400},
		{"A/\x00", 400},
		{"A/\tB", 400},
		{"\xff", 400},
		{deep, 414},
		{strings.Repeat("a", MaxSegLen+1), 414},
		{strings.Repeat("a/", MaxTotLen/2) + "abc", 414},
	}
	for _, tt := range tests {
		_, err := ParseURI(tt.in)
		var se *StatusError
		if !errors.As(err, &se) {
			t.Errorf("ParseURI(%q) error = %v, want status %d", tt.in, err, tt.code)
			continue
		}
		if se.Code != tt.code {
			t.Errorf("ParseURI(%q) status = %d, want %d", tt.in, se.Code, tt.code)
		}
	}
}

func TestParseURIDepthLimit(t *testing.T) {
	atLimit := strings.TrimSuffix(strings.Repeat("a/", MaxDepth), "/")
	if _, err := ParseURI(atLimit); err != nil {
		t.Errorf("ParseURI of %d segments: %v", MaxDepth, err)
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		uri  string
		prop string
		list string
		code int
	}{
		{in: "./A/B", uri: "A/B"},
		{in: "A?prop=ACL", uri: "A", prop: "ACL"},
		{in: ".?prop=ACL", uri: ".", prop: "ACL"},
		{in: "./A?list=Struct", uri: "A", list: "Struct"},
		{in: "A?list=TNDS+ACL", uri: "A", list: "TNDS+ACL"},
		{in: "A?prop=", code: 400},
		{in: "A?foo=1", code: 400},
		{in: "A?prop", code: 400},
		{in: "A?prop=ACL&x=1", code: 400},
		{in: "A?prop=A?B", code: 400},
		{in: "A/?prop=ACL", code: 400},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if tt.code != 0 {
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tt.code {
				t.Errorf("ParseTarget(%q) error = %v, want status %d", tt.in, err, tt.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", tt.in, err)
			continue
		}
		if got.URI.String() != tt.uri || got.Prop != tt.prop || got.List != tt.list {
			t.Errorf("ParseTarget(%q) = %v %q %q, want %s %q %q",
				tt.in, got.URI, got.Prop, got.List, tt.uri, tt.prop, tt.list)
		}
	}
}

func TestURIParentChild(t *testing.T) {
	u, _ := ParseURI("A/B/C")
	if got := u.Parent().String(); got != "A/B" {
		t.Errorf("Parent = %q, want A/B", got)
	}
	if got := u.Parent().Child("D").String(); got != "A/B/D" {
		t.Errorf("Child = %q, want A/B/D", got)
	}
	if got := u.String(); got != "A/B/C" {
		t.Errorf("Child changed the original URI to %q", got)
	}
	if !(URI{}).Parent().IsRoot() {
		t.Error("parent of the root is not the root")
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{".", "./A/B", "A//B", "../x", "A/./B", "./", "a?b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			var se *StatusError
			if !errors.As(err, &se) || se.Code != 400 && se.Code != 414 {
				t.Fatalf("ParseURI(%q) error %v is not a 400 or 414 StatusError", s, err)
			}
			return
		}
		again, err := ParseURI(u.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", u.String(), s, err)
		}
		if !again.Equal(u) {
			t.Fatalf("canonical form %q of %q parses to %q", u.String(), s, again.String())
		}
	})
}
