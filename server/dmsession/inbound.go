package dmsession

import (
	"errors"
	"strconv"
	"strings"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
)

// Limits on the DevInfo the engine stores from one Package 1.
const (
	maxDevInfoLeaves = 64
	maxDevInfoValue  = 1024
)

// handleCommands handles the commands of an authenticated message. It
// takes every Status and Results first and settles the queued commands
// they refer to, then handles the other commands in order. So an
// OperationComplete alert finds its command settled by a Status of the
// same message.
func (t *turn) handleCommands() error {
	for i := range t.in.Body.Commands {
		c := &t.in.Body.Commands[i]
		switch c.Name {
		case syncml.CmdStatus:
			t.statusIn++
			t.handleStatus(c)
		case syncml.CmdResults:
			t.handleResults(c)
		}
	}
	if err := t.settleTouched(); err != nil {
		return err
	}

	for i := range t.in.Body.Commands {
		c := &t.in.Body.Commands[i]
		switch c.Name {
		case syncml.CmdStatus, syncml.CmdResults:
		case syncml.CmdAlert:
			code, err := t.handleAlert(c)
			if err != nil {
				return err
			}
			t.addStatus(c, code)
		case syncml.CmdReplace:
			t.addStatus(c, t.handleReplace(c))
		case syncml.CmdAdd, syncml.CmdCopy, syncml.CmdDelete, syncml.CmdExec, syncml.CmdGet,
			syncml.CmdAtomic, syncml.CmdSequence:
			// A DM client sends only Replace (DevInfo), Results, Alert and
			// Status.
			t.addStatus(c, syncml.StatusCommandNotAllowed)
		default:
			t.addStatus(c, syncml.StatusOptionalFeature)
		}
	}
	return nil
}

// lookupRef finds the server command that a Status or Results refers to.
// A missing MsgRef means the server message this one replies to.
func (t *turn) lookupRef(c *syncml.Command) (sentRef, string, bool) {
	msgRef := c.MsgRef
	if msgRef == "" {
		msgRef = t.prevServerMsgID
	}
	ref, ok := t.st.Refs[refKey(msgRef, c.CmdRef)]
	return ref, msgRef, ok
}

func (t *turn) handleStatus(c *syncml.Command) {
	if c.Cmd == syncml.CmdSyncHdr || c.CmdRef == "0" {
		t.handleHeaderStatus(c)
		return
	}
	ref, msgRef, ok := t.lookupRef(c)
	if !ok {
		t.logUnmatched("status", msgRef, c)
		return
	}
	code, err := c.StatusCode()
	if err != nil {
		t.e.log.Warn("ignore status without a status code", "device", t.device.ID,
			"session", t.in.Header.SessionID, "msg_ref", msgRef, "cmd_ref", c.CmdRef)
		return
	}

	switch ref.Kind {
	case refVMList, refVMLeaf:
		t.inventoryStatus(ref, code)
	case refChunk:
		t.chunkStatus(refKey(msgRef, c.CmdRef), code)
	case refCommand:
		sc := t.st.Commands[ref.Seq]
		if sc == nil {
			t.logUnmatched("status", msgRef, c)
			return
		}
		for i := range sc.Parts {
			p := &sc.Parts[i]
			if p.CmdID == c.CmdRef && sc.MsgID == msgRef && p.Status == 0 {
				p.Status = code
				t.touch(ref.Seq)
			}
		}
	}
}

// handleHeaderStatus processes the device's Status for the server's
// SyncHdr: it stores a new server nonce and logs a rejection of the server
// credentials.
func (t *turn) handleHeaderStatus(c *syncml.Command) {
	t.takeServerNonce(c.Chal)
	code, err := c.StatusCode()
	if err == nil && (code == syncml.StatusInvalidCredentials ||
		code == syncml.StatusMissingCredentials) {
		t.e.log.Warn("device rejected the server credentials", "device", t.device.ID,
			"session", t.in.Header.SessionID, "status", code)
	}
}

func (t *turn) handleResults(c *syncml.Command) {
	ref, msgRef, ok := t.lookupRef(c)
	if !ok {
		t.logUnmatched("results", msgRef, c)
		return
	}
	switch ref.Kind {
	case refVMList, refVMLeaf:
		t.inventoryResults(ref, c)
	case refCommand:
		sc := t.st.Commands[ref.Seq]
		if sc == nil {
			t.logUnmatched("results", msgRef, c)
			return
		}
		t.collectResults(ref.Seq, sc, c)
	}
}

// logUnmatched logs, once per Status or Results, an answer to no command
// this session sent. The answer is then ignored.
func (t *turn) logUnmatched(kind, msgRef string, c *syncml.Command) {
	t.e.log.Warn("ignore unmatched "+kind, "device", t.device.ID,
		"session", t.in.Header.SessionID, "msg_ref", msgRef, "cmd_ref", c.CmdRef,
		"cmd", c.Cmd)
}

func (t *turn) touch(seq int64) {
	for _, s := range t.touched {
		if s == seq {
			return
		}
	}
	t.touched = append(t.touched, seq)
}

func (t *turn) handleAlert(c *syncml.Command) (int, error) {
	code, err := c.AlertCode()
	if err != nil {
		return syncml.StatusBadRequest, nil
	}
	switch code {
	case syncml.AlertServerInitiated, syncml.AlertClientInitiated:
		return t.sessionOpened()
	case syncml.AlertNextMessage:
		return syncml.StatusOK, nil
	case syncml.AlertSessionAbort:
		t.aborted = true
		return syncml.StatusOK, nil
	case syncml.AlertGeneric:
		return t.handleGenericAlert(c)
	default:
		return syncml.StatusOptionalFeature, nil
	}
}

// handleGenericAlert reports each Item of a Generic Alert. An alert whose
// Correlator is c<seq> of a sent command completes that command;
// every other Item goes to Hooks.AlertReceived.
func (t *turn) handleGenericAlert(c *syncml.Command) (int, error) {
	if len(c.Items) == 0 {
		return syncml.StatusIncompleteCommand, nil
	}
	alerts := make([]Alert, len(c.Items))
	for i, it := range c.Items {
		alerts[i] = alertOf(c.Correlator, it)
	}

	if seq, ok := parseCorrelator(c.Correlator); ok {
		cmd, err := t.q.GetCommand(t.ctx, t.device.ID, seq)
		switch {
		case err == nil && cmd.State == store.CommandSent:
			if err := t.completeByAlert(cmd, alerts[0]); err != nil {
				return 0, err
			}
			alerts = alerts[1:]
		case err == nil:
			t.e.log.Info("ignore alert for a finished command", "device", t.device.ID,
				"session", t.in.Header.SessionID, "cmd", seq, "state", cmd.State)
			return syncml.StatusOK, nil
		case !errors.Is(err, store.ErrNotFound):
			return 0, err
		}
	}

	for _, a := range alerts {
		if err := t.e.cfg.Hooks.AlertReceived(t.ctx, t.q, t.device.ID, a); err != nil {
			return 0, err
		}
	}
	return syncml.StatusOK, nil
}

func alertOf(correlator string, it syncml.Item) Alert {
	a := Alert{Correlator: correlator, Data: strings.TrimSpace(itemData(it))}
	if it.Meta != nil {
		a.Type, a.Format, a.Mark = it.Meta.Type, it.Meta.Format, it.Meta.Mark
	}
	if it.Source != nil {
		a.Source = it.Source.LocURI
	}
	if it.Target != nil {
		a.Target = it.Target.LocURI
	}
	return a
}

// parseCorrelator returns the queue Seq of a correlator of the form
// c<seq>, the form every server Exec carries.
func parseCorrelator(s string) (int64, bool) {
	digits, ok := strings.CutPrefix(s, "c")
	if !ok || digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, false
	}
	seq, err := strconv.ParseInt(digits, 10, 64)
	return seq, err == nil && seq > 0
}

func itemData(it syncml.Item) string {
	if it.Data == nil {
		return ""
	}
	return it.Data.Value
}

// handleReplace stores the DevInfo leaves of a client Replace. Items
// outside ./DevInfo are accepted and dropped. A Replace without any
// DevInfo item gets 405, since a client may replace nothing else.
func (t *turn) handleReplace(c *syncml.Command) int {
	found := false
	for _, it := range c.Items {
		loc := it.Source
		if loc == nil || loc.LocURI == "" {
			loc = it.Target
		}
		if loc == nil {
			continue
		}
		leaf, ok := strings.CutPrefix(strings.TrimPrefix(loc.LocURI, "./"), "DevInfo/")
		if !ok || leaf == "" {
			continue
		}
		found = true
		value := itemData(it)
		if t.device.DevInfo == nil || !t.devInfoFresh {
			t.device.DevInfo = map[string]string{}
			t.devInfoFresh = true
		}
		if len(t.device.DevInfo) >= maxDevInfoLeaves || len(value) > maxDevInfoValue ||
			len(leaf) > maxDevInfoValue {
			t.e.log.Warn("drop DevInfo leaf over the size limits", "device", t.device.ID,
				"leaf_bytes", len(leaf), "value_bytes", len(value))
			continue
		}
		t.device.DevInfo[leaf] = value
		t.deviceChanged = true
	}
	if !found {
		return syncml.StatusCommandNotAllowed
	}
	return syncml.StatusOK
}
