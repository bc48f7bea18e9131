package dmsession

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
)

// sendQueued sends, in Seq order, every pending command of the device and
// every command sent in an earlier session that got no status. It skips
// the commands this session already delivered and Execs waiting for their
// alert. It returns how many it sent. A command sent MaxAttempts times
// without a status fails instead.
func (t *turn) sendQueued() (int, error) {
	cmds, err := t.q.ListCommands(t.ctx, t.device.ID, 0,
		store.CommandPending, store.CommandSent)
	if err != nil {
		return 0, fmt.Errorf("list queued commands of device %s: %w", t.device.ID, err)
	}

	sent := 0
	for _, cmd := range cmds {
		if _, delivered := t.st.Commands[cmd.Seq]; delivered {
			continue
		}
		if cmd.State == store.CommandSent && cmd.Status == syncml.StatusAccepted {
			continue
		}
		if cmd.State == store.CommandSent && cmd.Attempts >= t.e.cfg.MaxAttempts {
			reason := fmt.Sprintf("no answer after %d attempts", cmd.Attempts)
			if err := t.finishCommand(cmd, store.CommandFailed, 0, "", reason); err != nil {
				return 0, err
			}
			continue
		}

		c, sc, err := t.materialize(cmd)
		var bad *payloadError
		if errors.As(err, &bad) {
			t.e.log.Warn("fail queued command that cannot be sent", "device", t.device.ID,
				"cmd", cmd.Seq, "err", bad)
			if err := t.finishCommand(cmd, store.CommandFailed, 0, "", bad.Error()); err != nil {
				return 0, err
			}
			continue
		}
		if err != nil {
			return 0, err
		}
		if size := t.objectTooLarge(c); size > 0 {
			t.dropRefs(sc)
			reason := fmt.Sprintf("object of %d bytes exceeds the device's MaxObjSize %d",
				size, t.st.MaxObjSize)
			err := t.finishCommand(cmd, store.CommandFailed, syncml.StatusEntityTooLarge, "", reason)
			if err != nil {
				return 0, err
			}
			continue
		}
		chunked := false
		if !t.fits(c) {
			if sent > 0 {
				// The rest goes in the next message of this session.
				t.dropRefs(sc)
				break
			}
			// NOTE: a command that does not fit and cannot be chunked
			// (several Items, a container, a secret) is sent whole.
			chunked = chunkable(cmd, c)
		}

		if !chunked {
			t.out = append(t.out, c)
			t.st.Commands[cmd.Seq] = sc
		}
		cmd.State = store.CommandSent
		cmd.Attempts++
		cmd.SessionID = t.in.Header.SessionID
		cmd.Status, cmd.Result, cmd.Error = 0, "", ""
		cmd.UpdatedAt = t.now
		if err := t.q.UpdateCommand(t.ctx, cmd); err != nil {
			return 0, fmt.Errorf("mark command %d sent: %w", cmd.Seq, err)
		}
		sent++
		t.sentCount++
		if chunked {
			// The large object fills this message and the next ones.
			if err := t.startOutbound(cmd, c, sc); err != nil {
				return 0, err
			}
			break
		}
	}
	return sent, nil
}

// dropRefs deletes the CmdIDs of a command built but not sent from the
// session state.
func (t *turn) dropRefs(sc *sentCommand) {
	for _, p := range sc.Parts {
		delete(t.st.Refs, refKey(sc.MsgID, p.CmdID))
	}
}

// fits reports whether the reply with c added stays within the device's
// MaxMsgSize. The size counts a server Cred of the length MD5 gives.
func (t *turn) fits(c syncml.Command) bool {
	if t.st.MaxMsgSize <= 0 {
		return true
	}
	cred := &syncml.Cred{
		Meta: &syncml.Meta{Type: syncml.AuthMD5, Format: formatB64},
		Data: strings.Repeat("A", md5CredLength),
	}
	t.out = append(t.out, c)
	data, err := t.encode(t.reply(cred, strconv.Itoa(t.st.ServerMsgID)))
	t.out = t.out[:len(t.out)-1]
	return err == nil && len(data) <= t.st.MaxMsgSize
}

// md5CredLength is the length of a syncml:auth-md5 Cred Data: base64 of
// 16 bytes.
const md5CredLength = 24

// settleTouched decides, for each queued command that got a status in this
// message, whether that status is final.
func (t *turn) settleTouched() error {
	if err := t.failBrokenResults(); err != nil {
		return err
	}
	for _, seq := range t.touched {
		sc := t.st.Commands[seq]
		if sc == nil || sc.Resolved || t.receivingResults(seq) {
			continue
		}
		if err := t.settle(seq, sc); err != nil {
			return err
		}
	}
	return nil
}

// settle applies the rules for the final status of a command. The first
// failing child, in order, fails it, then a failing container. An Exec
// (alone or in a Sequence) decides by its own status, and 202 waits for
// the OperationComplete alert. Otherwise the command is done once every
// part has a status. A 401 or 407 means the device did not run the
// command, so it stays sent and is resent in the next session.
func (t *turn) settle(seq int64, sc *sentCommand) error {
	ordered := make([]commandPart, 0, len(sc.Parts))
	ordered = append(ordered, sc.Parts[1:]...)
	ordered = append(ordered, sc.Parts[0])

	answered := true
	var exec *commandPart
	for i := range ordered {
		p := &ordered[i]
		switch {
		case p.Status == 0:
			answered = false
			continue
		case p.Status == syncml.StatusInvalidCredentials ||
			p.Status == syncml.StatusMissingCredentials:
			t.e.log.Warn("device rejected a command for its credentials, so it is resent next session",
				"device", t.device.ID, "cmd", seq, "status", p.Status)
			sc.Resolved = true
			return nil
		case !succeeded(p.Status, sc.Accept):
			sc.Resolved = true
			reason := fmt.Sprintf("%s failed with status %d", p.Name, p.Status)
			return t.finishSeq(seq, store.CommandFailed, p.Status, "", reason)
		}
		if p.Name == syncml.CmdExec {
			exec = p
		}
	}

	switch {
	case exec != nil && exec.Status == syncml.StatusAccepted:
		sc.Resolved = true
		return t.markAccepted(seq)
	case exec != nil:
		sc.Resolved = true
		return t.finishSeq(seq, store.CommandDone, exec.Status, "", "")
	case answered:
		sc.Resolved = true
		result := strings.Join(sc.Results, "\n")
		return t.finishSeq(seq, store.CommandDone, sc.Parts[0].Status, result, "")
	}
	return nil
}

// succeeded reports whether a command status is a success: a 2xx other
// than 214 (cancelled), 215 (not executed) and 216 (rolled back), or one
// of the command's accept statuses.
func succeeded(status int, accept []int) bool {
	for _, a := range accept {
		if a == status {
			return true
		}
	}
	switch status {
	case syncml.StatusOperationCancelled, syncml.StatusNotExecuted,
		syncml.StatusAtomicRollbackOK:
		return false
	}
	return status >= 200 && status < 300
}

// markAccepted records a 202 for an Exec: the command stays sent, and its
// OperationComplete alert will finish it.
func (t *turn) markAccepted(seq int64) error {
	cmd, err := t.q.GetCommand(t.ctx, t.device.ID, seq)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load command %d: %w", seq, err)
	}
	if cmd.State != store.CommandSent {
		return nil
	}
	cmd.Status = syncml.StatusAccepted
	cmd.UpdatedAt = t.now
	if err := t.q.UpdateCommand(t.ctx, cmd); err != nil {
		return fmt.Errorf("mark command %d accepted: %w", seq, err)
	}
	return nil
}

// completeByAlert finishes the command an OperationComplete alert reports
// on. Data 1200-1299 (or 200-299) is success.
func (t *turn) completeByAlert(cmd store.Command, a Alert) error {
	if sc := t.st.Commands[cmd.Seq]; sc != nil {
		sc.Resolved = true
	}
	status, err := strconv.Atoi(a.Data)
	switch {
	case err != nil:
		return t.finishCommand(cmd, store.CommandFailed, 0, a.Data,
			"alert data is not a result code")
	case (status >= 1200 && status < 1300) || (status >= 200 && status < 300):
		return t.finishCommand(cmd, store.CommandDone, status, a.Data, "")
	default:
		return t.finishCommand(cmd, store.CommandFailed, status, a.Data,
			fmt.Sprintf("operation failed with result %d", status))
	}
}

func (t *turn) finishSeq(seq int64, state store.CommandState, status int,
	result, reason string) error {
	cmd, err := t.q.GetCommand(t.ctx, t.device.ID, seq)
	if errors.Is(err, store.ErrNotFound) {
		t.e.log.Warn("ignore status of a command no longer queued", "device", t.device.ID,
			"cmd", seq)
		return nil
	}
	if err != nil {
		return fmt.Errorf("load command %d: %w", seq, err)
	}
	return t.finishCommand(cmd, state, status, result, reason)
}

// finishCommand stores the final state of a command and reports it through
// Hooks.CommandAnswered. A command already done, failed or cancelled is
// left as it is.
func (t *turn) finishCommand(cmd store.Command, state store.CommandState, status int,
	result, reason string) error {
	if cmd.State != store.CommandPending && cmd.State != store.CommandSent {
		t.e.log.Info("ignore status of a finished command", "device", t.device.ID,
			"cmd", cmd.Seq, "state", cmd.State)
		return nil
	}
	cmd.State = state
	cmd.Status = status
	cmd.Result = result
	cmd.Error = reason
	cmd.UpdatedAt = t.now
	if err := t.q.UpdateCommand(t.ctx, cmd); err != nil {
		return fmt.Errorf("store status of command %d: %w", cmd.Seq, err)
	}
	if err := t.e.cfg.Hooks.CommandAnswered(t.ctx, t.q, cmd, status, result); err != nil {
		return fmt.Errorf("report status of command %d: %w", cmd.Seq, err)
	}
	return nil
}
