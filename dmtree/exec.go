package dmtree

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/virmo/virmo/syncml"
)

// StatusPersistFailed is the status a command gets when its changes could
// not be persisted (510, data store failure). The tree is then unchanged.
const StatusPersistFailed = 510

// AfterChanger is implemented by plugins that need to act after a server's
// Add, Replace or Delete below their root was applied, for example to fill
// in the children of a node the server just added. It runs in the same
// transaction as the change. An error rejects the command as for
// BeforeChange.
type AfterChanger interface {
	AfterChange(tx *Tx, ch Change) error
}

// outcome is the result of one command: its status code, the Results of a
// Get, and the outcomes of the children of an Atomic or Sequence.
type outcome struct {
	cmd      syncml.Command
	code     int
	results  *syncml.Command
	children []*outcome
}

// failed reports whether a status code is a failure. Codes 1xx and 2xx
// succeed.
func failed(code int) bool { return code >= 300 }

// statusCode returns the status code an error gives a command: the code of
// a *StatusError, 500 for any other error.
func statusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return syncml.StatusCommandFailed
}

// Execute runs one server command (any of Add, Alert, Atomic, Copy, Delete,
// Exec, Get, Replace, Sequence) and returns the Status commands, and Results
// for a Get, that reply to it, in order. CmdID is left empty for the caller
// to number. MsgRef is s.MsgRef and CmdRef the command's CmdID.
//
// The command runs in one transaction, committed and persisted once when
// it succeeds; a failed command leaves the tree unchanged. Status and
// Results commands get no answer (nil), and other command names get 406.
// An Atomic or Sequence is answered by its own Status first, then by the
// answers of its children in order. A command with NoResp gets no Status.
func (t *Tree) Execute(ctx context.Context, s Session, cmd syncml.Command) []syncml.Command {
	if cmd.Name == syncml.CmdStatus || cmd.Name == syncml.CmdResults {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tx := t.begin(false)
	defer tx.close()

	var out *outcome
	switch cmd.Name {
	case syncml.CmdAtomic:
		out = t.execAtomic(ctx, s, tx, cmd)
	case syncml.CmdSequence:
		out = t.execSequence(ctx, s, tx, cmd)
	default:
		out = t.execCommand(ctx, s, tx, cmd)
	}

	if err := t.commit(tx); err != nil {
		slog.Error("tree commit failed", "cmd", cmd.Name, "cmd_id", cmd.CmdID, "err", err)
		out.rollBack(StatusPersistFailed)
	}
	return out.render(s, nil)
}

// rollBack rewrites the outcome of a command whose changes were dropped
// after it ran: the command gets code, children that had succeeded get 216
// and no Results are sent, since they may show uncommitted values.
func (o *outcome) rollBack(code int) {
	o.code = code
	o.results = nil
	for _, c := range o.children {
		c.results = nil
		if !failed(c.code) {
			c.rollBack(syncml.StatusAtomicRollbackOK)
		}
	}
}

func (o *outcome) render(s Session, out []syncml.Command) []syncml.Command {
	if !o.cmd.NoResp {
		out = append(out, newStatus(s, o.cmd, o.code))
	}
	if o.results != nil {
		out = append(out, *o.results)
	}
	for _, c := range o.children {
		out = c.render(s, out)
	}
	return out
}

// newStatus returns the Status with code that replies to cmd. Item commands list
// their item Target and Source LocURIs as TargetRef and SourceRef.
func newStatus(s Session, cmd syncml.Command, code int) syncml.Command {
	st := syncml.Command{
		Name:   syncml.CmdStatus,
		MsgRef: s.MsgRef,
		CmdRef: cmd.CmdID,
		Cmd:    cmd.Name,
		Data:   strconv.Itoa(code),
	}
	switch cmd.Name {
	case syncml.CmdAdd, syncml.CmdCopy, syncml.CmdDelete, syncml.CmdExec,
		syncml.CmdGet, syncml.CmdReplace:
	default:
		return st
	}
	for _, item := range cmd.Items {
		if item.Target != nil {
			st.TargetRefs = append(st.TargetRefs, item.Target.LocURI)
		}
		if item.Source != nil {
			st.SourceRefs = append(st.SourceRefs, item.Source.LocURI)
		}
	}
	return st
}

// atomicAllowed lists the commands an Atomic may contain.
var atomicAllowed = map[string]bool{
	syncml.CmdAdd: true, syncml.CmdAlert: true, syncml.CmdCopy: true,
	syncml.CmdDelete: true, syncml.CmdReplace: true,
}

// execAtomic runs the children of an Atomic all or nothing. When one fails
// it keeps its status, every other child gets 216, the Atomic 507, and the
// tree returns to its state before the Atomic. An Atomic with a child command
// it may not contain (Get, Exec, Sequence, Atomic) runs nothing: the Atomic
// and those children get 500, the others 215.
func (t *Tree) execAtomic(ctx context.Context, s Session, tx *Tx, cmd syncml.Command) *outcome {
	out := &outcome{cmd: cmd, code: syncml.StatusOK}
	for _, c := range cmd.Commands {
		if !atomicAllowed[c.Name] {
			out.code = syncml.StatusCommandFailed
		}
	}
	if out.code != syncml.StatusOK {
		for _, c := range cmd.Commands {
			code := syncml.StatusNotExecuted
			if !atomicAllowed[c.Name] {
				code = syncml.StatusCommandFailed
			}
			out.children = append(out.children, &outcome{cmd: c, code: code})
		}
		return out
	}

	sp := tx.save()
	failedAt := -1
	for i, c := range cmd.Commands {
		if failedAt >= 0 {
			out.children = append(out.children, &outcome{cmd: c, code: syncml.StatusAtomicRollbackOK})
			continue
		}
		child := t.execCommand(ctx, s, tx, c)
		out.children = append(out.children, child)
		if failed(child.code) {
			failedAt = i
		}
	}
	if failedAt < 0 {
		return out
	}

	tx.restore(sp)
	out.code = syncml.StatusAtomicFailed
	for i, child := range out.children {
		if i != failedAt {
			child.code = syncml.StatusAtomicRollbackOK
			child.results = nil
		}
	}
	return out
}

// execSequence runs the children of a Sequence in order. After the first
// failure the remaining children get 215. The changes of the children that
// succeeded before it stay. The Sequence itself gets 200.
func (t *Tree) execSequence(ctx context.Context, s Session, tx *Tx, cmd syncml.Command) *outcome {
	out := &outcome{cmd: cmd, code: syncml.StatusOK}
	stopped := false
	for _, c := range cmd.Commands {
		if stopped {
			out.children = append(out.children, &outcome{cmd: c, code: syncml.StatusNotExecuted})
			continue
		}
		var child *outcome
		switch c.Name {
		case syncml.CmdAtomic:
			child = t.execAtomic(ctx, s, tx, c)
		case syncml.CmdSequence:
			child = &outcome{cmd: c, code: syncml.StatusCommandFailed}
		default:
			child = t.execCommand(ctx, s, tx, c)
		}
		out.children = append(out.children, child)
		stopped = failed(child.code)
	}
	return out
}

// execCommand runs one command that is not an Atomic or Sequence. A
// command whose status is a failure leaves tx as it found it.
func (t *Tree) execCommand(ctx context.Context, s Session, tx *Tx, cmd syncml.Command) *outcome {
	sp := tx.save()
	out := &outcome{cmd: cmd}
	switch cmd.Name {
	case syncml.CmdAlert:
		out.code = execAlert(cmd)
	case syncml.CmdGet:
		out.code, out.results = t.execGet(s, tx, cmd)
	case syncml.CmdAdd, syncml.CmdReplace, syncml.CmdDelete, syncml.CmdCopy, syncml.CmdExec:
		out.code = t.execItems(ctx, s, tx, cmd)
	default:
		out.code = syncml.StatusOptionalFeature
	}
	if failed(out.code) {
		tx.restore(sp)
	}
	return out
}

// execAlert returns the status code for an Alert from the server. The agent
// has no user interface, so the user-interaction alerts 1100 to 1104 get 406.
// Any other numeric alert code gets 200 and a non-numeric one 400.
func execAlert(cmd syncml.Command) int {
	code, err := strconv.Atoi(cmd.Data)
	switch {
	case err != nil:
		return syncml.StatusBadRequest
	case code >= syncml.AlertDisplay && code <= syncml.AlertMultipleChoice:
		return syncml.StatusOptionalFeature
	default:
		return syncml.StatusOK
	}
}

// execItems runs the items of an Add, Replace, Delete, Copy or Exec in
// order, all or nothing: the first failing item stops the command, and its
// status is the command's. Without a failure the status is 200, or 202 for
// an Exec that a plugin accepted for later processing.
func (t *Tree) execItems(ctx context.Context, s Session, tx *Tx, cmd syncml.Command) int {
	if len(cmd.Items) == 0 {
		return syncml.StatusIncompleteCommand
	}
	code := syncml.StatusOK
	for _, item := range cmd.Items {
		var err error
		switch cmd.Name {
		case syncml.CmdAdd:
			err = t.addItem(s, tx, item, cmd.Meta)
		case syncml.CmdReplace:
			err = t.replaceItem(s, tx, item, cmd.Meta)
		case syncml.CmdDelete:
			err = t.deleteItem(s, tx, item)
		case syncml.CmdCopy:
			err = t.copyItem(s, tx, item)
		case syncml.CmdExec:
			var execCode int
			execCode, err = t.execItem(ctx, s, tx, item, cmd.Correlator)
			if err == nil && execCode == syncml.StatusAccepted {
				code = syncml.StatusAccepted
			}
		}
		if err != nil {
			return statusCode(err)
		}
	}
	return code
}

// execGet reads every target of a Get. The status is that of the first
// failing target, or 200. The Results contain one item per target read
// successfully, and are nil when there is none.
func (t *Tree) execGet(s Session, tx *Tx, cmd syncml.Command) (int, *syncml.Command) {
	if len(cmd.Items) == 0 {
		return syncml.StatusIncompleteCommand, nil
	}
	code := syncml.StatusOK
	var items []syncml.Item
	for _, item := range cmd.Items {
		results, err := t.getItem(s, tx, item)
		if err != nil {
			if !failed(code) {
				code = statusCode(err)
			}
			continue
		}
		items = append(items, results...)
	}
	if len(items) == 0 {
		return code, nil
	}
	return code, &syncml.Command{
		Name:   syncml.CmdResults,
		MsgRef: s.MsgRef,
		CmdRef: cmd.CmdID,
		Items:  items,
	}
}
