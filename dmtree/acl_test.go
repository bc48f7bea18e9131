package dmtree

import (
	"errors"
	"testing"
)

func TestParseACLRoundTrip(t *testing.T) {
	for _, s := range []string{
		"",
		"Get=*",
		"Add=*&Get=*",
		"Add=www.sonera.fi-8765&Delete=www.sonera.fi-8765&Replace=www.sonera.fi-8765+321_ibm.com&Get=*",
		"Exec=srv1+srv2&Get=srv1",
		"Get=Ünïcode-id",
	} {
		acl, err := ParseACL(s)
		if err != nil {
			t.Errorf("ParseACL(%q): %v", s, err)
			continue
		}
		if got := acl.String(); got != s {
			t.Errorf("ParseACL(%q).String() = %q", s, got)
		}
	}
}

func TestParseACLRejects(t *testing.T) {
	for _, s := range []string{
		"Get",
		"Get=",
		"=srv",
		"Copy=srv",
		"get=srv",
		"Get=srv&",
		"&Get=srv",
		"Get=a+",
		"Get=+a",
		"Get=a b",
		"Get=a*b",
		"Get=a=b",
		"Get=a\x01",
		"Get=a&Get=b",
		"Get=**",
	} {
		_, err := ParseACL(s)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != 400 {
			t.Errorf("ParseACL(%q) error = %v, want a 400 StatusError", s, err)
		}
	}
}

func TestACLAllows(t *testing.T) {
	acl, err := ParseACL("Add=*&Get=srv1+srv2&Replace=srv2")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cmd, server string
		want        bool
	}{
		{ACLAdd, "anyone", true},
		{ACLAdd, "", true},
		{ACLGet, "srv1", true},
		{ACLGet, "srv2", true},
		{ACLGet, "srv3", false},
		{ACLGet, "", false},
		{ACLReplace, "srv1", false},
		{ACLReplace, "srv2", true},
		{ACLDelete, "srv2", false},
		{ACLExec, "srv1", false},
	}
	for _, tt := range tests {
		if got := acl.Allows(tt.cmd, tt.server); got != tt.want {
			t.Errorf("Allows(%s, %q) = %v, want %v", tt.cmd, tt.server, got, tt.want)
		}
	}
}

func FuzzParseACL(f *testing.F) {
	for _, s := range []string{"", "Add=*&Get=*", "Get=a+b&Replace=c", "Get=", "Copy=x", "Get=a&Get=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		acl, err := ParseACL(s)
		if err != nil {
			var se *StatusError
			if !errors.As(err, &se) || se.Code != 400 {
				t.Fatalf("ParseACL(%q) error %v is not a 400 StatusError", s, err)
			}
			return
		}
		if got := acl.String(); got != s {
			t.Fatalf("ParseACL(%q).String() = %q", s, got)
		}
	})
}
