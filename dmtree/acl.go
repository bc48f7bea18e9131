package dmtree

import (
	"fmt"
	"strings"
	"unicode"
)

// DefaultRootACL is the root ACL a tree gets when Options.RootACL is empty.
const DefaultRootACL = "Add=*&Get=*"

// ACL command names. Copy has no entry: a Copy needs Get on the source and
// Add or Replace on the target.
const (
	ACLAdd     = "Add"
	ACLDelete  = "Delete"
	ACLExec    = "Exec"
	ACLGet     = "Get"
	ACLReplace = "Replace"
)

// ACL is a parsed ACL property: entries in the order they were written. An
// empty ACL means the node inherits the nearest ancestor's ACL as a whole.
type ACL []ACLEntry

// ACLEntry grants one command to a list of ServerIDs; "*" grants it to
// every server.
type ACLEntry struct {
	Command   string
	ServerIDs []string
}

// ParseACL parses an ACL such as "Add=a+b&Get=*". It rejects an unknown
// command, a command listed twice, an entry without "=" or without server
// ids, and a server id with whitespace, control characters or one of
// "=&*+" (other than the whole id "*"), with a 400 *StatusError. The empty
// string is the empty (inheriting) ACL.
func ParseACL(s string) (ACL, error) {
	if s == "" {
		return nil, nil
	}
	var acl ACL
	for _, part := range strings.Split(s, "&") {
		cmd, ids, ok := strings.Cut(part, "=")
		if !ok {
			return nil, Errorf(400, "invalid ACL entry %q: expected Command=ServerID", part)
		}
		switch cmd {
		case ACLAdd, ACLDelete, ACLExec, ACLGet, ACLReplace:
		default:
			return nil, Errorf(400, "invalid ACL entry %q: unknown command %q", part, cmd)
		}
		if acl.entry(cmd) != nil {
			return nil, Errorf(400, "invalid ACL: command %s listed twice", cmd)
		}

		entry := ACLEntry{Command: cmd}
		for _, id := range strings.Split(ids, "+") {
			if err := checkServerID(id); err != nil {
				return nil, Errorf(400, "invalid ACL entry %q: %v", part, err)
			}
			entry.ServerIDs = append(entry.ServerIDs, id)
		}
		acl = append(acl, entry)
	}
	return acl, nil
}

func checkServerID(id string) error {
	if id == "*" {
		return nil
	}
	if id == "" {
		return fmt.Errorf("empty server id")
	}
	for _, r := range id {
		if strings.ContainsRune("=&*+", r) || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("server id %q contains %q", id, r)
		}
	}
	return nil
}

// String returns the ACL in its wire form; ParseACL(a.String()) equals a.
func (a ACL) String() string {
	var b strings.Builder
	for i, e := range a {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(e.Command)
		b.WriteByte('=')
		b.WriteString(strings.Join(e.ServerIDs, "+"))
	}
	return b.String()
}

// Allows reports whether the ACL grants cmd to serverID. An empty serverID
// matches only "*".
func (a ACL) Allows(cmd, serverID string) bool {
	e := a.entry(cmd)
	if e == nil {
		return false
	}
	for _, id := range e.ServerIDs {
		if id == "*" || id != "" && id == serverID {
			return true
		}
	}
	return false
}

func (a ACL) entry(cmd string) *ACLEntry {
	for i := range a {
		if a[i].Command == cmd {
			return &a[i]
		}
	}
	return nil
}

// creatorACL returns the ACL given to an interior node that a server adds
// without holding Replace on the parent: Add, Delete and Replace for that
// server, so it keeps control of what it created. It returns "" when the
// ServerID cannot appear in an ACL.
func creatorACL(serverID string) string {
	if serverID == "*" || checkServerID(serverID) != nil {
		return ""
	}
	return ACL{
		{Command: ACLAdd, ServerIDs: []string{serverID}},
		{Command: ACLDelete, ServerIDs: []string{serverID}},
		{Command: ACLReplace, ServerIDs: []string{serverID}},
	}.String()
}
