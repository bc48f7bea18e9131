package syncml

import (
	"fmt"
	"iter"
	"strconv"
)

// NewStatus returns a Status command that responds to command cmdRef (a
// CmdID, or "0" for the SyncHdr) of message msgRef. cmd is the name of that
// command or CmdSyncHdr. CmdID is left empty for the sender to
// number. Callers add TargetRefs, SourceRefs, Chal or Items as needed.
func NewStatus(msgRef, cmdRef, cmd string, code int) Command {
	return Command{
		Name:   CmdStatus,
		MsgRef: msgRef,
		CmdRef: cmdRef,
		Cmd:    cmd,
		Data:   strconv.Itoa(code),
	}
}

// StatusCode parses the status code in the Data of a Status command. It
// fails when c is not a Status or Data is not a three-digit code.
func (c Command) StatusCode() (int, error) {
	if c.Name != CmdStatus {
		return 0, fmt.Errorf("status code of %s command %q: not a Status", c.Name, c.CmdID)
	}
	return parseCode(c.Data, 100, 999, "status", c.CmdID)
}

// AlertCode parses the alert code in the Data of an Alert command. It fails
// when c is not an Alert or Data is not a four-digit code.
func (c Command) AlertCode() (int, error) {
	if c.Name != CmdAlert {
		return 0, fmt.Errorf("alert code of %s command %q: not an Alert", c.Name, c.CmdID)
	}
	return parseCode(c.Data, 1000, 9999, "alert", c.CmdID)
}

func parseCode(data string, low, high int, kind, cmdID string) (int, error) {
	code, err := strconv.Atoi(data)
	if err != nil || code < low || code > high || data[0] == '+' {
		return 0, fmt.Errorf("%s code of command %q: %q is not a number from %d to %d",
			kind, cmdID, data, low, high)
	}
	return code, nil
}

// Commands returns an iterator over every command of the body, depth first
// in document order: each Atomic or Sequence comes before its children. It
// yields the command's path (as in Violation) and a pointer into m, so a
// caller may update the command in place but must not add or remove
// commands while iterating.
func (m *Message) Commands() iter.Seq2[string, *Command] {
	return func(yield func(string, *Command) bool) {
		walkCommands("SyncBody", m.Body.Commands, yield)
	}
}

func walkCommands(path string, cmds []Command, yield func(string, *Command) bool) bool {
	counts := map[string]int{}
	for i := range cmds {
		c := &cmds[i]
		counts[c.Name]++
		p := childPath(path, c.Name, counts[c.Name])
		if !yield(p, c) {
			return false
		}
		if !walkCommands(p, c.Commands, yield) {
			return false
		}
	}
	return true
}
