package dmsession

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
)

// brokenResults is a queued command whose chunked Results failed: a size
// mismatch (424), an object over MaxObjSize (413) or an interrupted
// transfer. It fails once the Statuses of the message are settled.
type brokenResults struct {
	Seq    int64
	Status int
	Reason string
}

// collectResults stores the Items of a Results for the queued command seq.
// A chunked Item is reassembled across messages: each non-final chunk gets
// Status 213, and the whole value joins sc.Results once the last chunk
// arrived with the length the first one announced in Meta Size.
func (t *turn) collectResults(seq int64, sc *sentCommand, c *syncml.Command) {
	for _, it := range c.Items {
		if value, done := t.takeResultItem(seq, c, it); done {
			sc.Results = append(sc.Results, value)
		}
	}
	t.touch(seq)
}

func (t *turn) takeResultItem(seq int64, c *syncml.Command, it syncml.Item) (string, bool) {
	source := ""
	if it.Source != nil {
		source = it.Source.LocURI
	}
	in := t.st.Inbound
	if in != nil && (in.Seq != seq || in.Source != source) {
		t.interruptInbound("another Results arrived before its last chunk")
		in = nil
	}
	if in == nil && !it.MoreData {
		return itemData(it), true
	}

	if in == nil {
		total := -1
		if it.Meta != nil {
			if n, err := strconv.Atoi(it.Meta.Size); err == nil && n >= 0 {
				total = n
			}
		}
		switch {
		case total < 0:
			t.rejectResults(seq, c, syncml.StatusSizeMismatch,
				"first chunk of the results has no valid Meta Size")
			return "", false
		case total > t.e.cfg.MaxObjSize:
			t.rejectResults(seq, c, syncml.StatusEntityTooLarge, fmt.Sprintf(
				"results of %d bytes exceed the server's MaxObjSize %d", total, t.e.cfg.MaxObjSize))
			return "", false
		}
		in = &inboundObject{Seq: seq, Source: source, Total: total,
			Opaque: t.opaqueBinary() && isB64(it)}
		t.st.Inbound = in
	}

	received, err := in.add(it)
	if err != nil {
		t.rejectResults(seq, c, syncml.StatusSizeMismatch, err.Error())
		return "", false
	}
	if received > in.Total || (!it.MoreData && received != in.Total) {
		reason := fmt.Sprintf("results are %d bytes, Meta Size announced %d",
			received, in.Total)
		t.rejectResults(seq, c, syncml.StatusSizeMismatch, reason)
		return "", false
	}
	if it.MoreData {
		t.addStatus(c, syncml.StatusChunkAccepted)
		return "", false
	}
	t.st.Inbound = nil
	if in.Opaque {
		return base64.StdEncoding.EncodeToString(in.RawData), true
	}
	return in.Data, true
}

// add appends the data of a chunk and returns the length received so far.
// An OPAQUE chunk reaches here as b64 text, which decodeWBXML made of
// its raw bytes, so it is decoded back: base64 chunks cannot be joined as
// text because each may end in padding.
func (in *inboundObject) add(it syncml.Item) (int, error) {
	if !in.Opaque {
		in.Data += itemData(it)
		return len(in.Data), nil
	}
	chunk := []byte(itemData(it))
	if isB64(it) {
		raw, err := base64.StdEncoding.DecodeString(itemData(it))
		if err != nil {
			return 0, fmt.Errorf("chunk of binary results is not valid base64: %w", err)
		}
		chunk = raw
	}
	in.RawData = append(in.RawData, chunk...)
	return len(in.RawData), nil
}

func isB64(it syncml.Item) bool {
	return it.Meta != nil && it.Meta.Format == formatB64
}

// rejectResults answers a Results chunk with code, drops the object and
// marks the command to fail.
func (t *turn) rejectResults(seq int64, c *syncml.Command, code int, reason string) {
	t.addStatus(c, code)
	t.st.Inbound = nil
	t.st.broken = append(t.st.broken, brokenResults{Seq: seq, Status: code, Reason: reason})
}

// interruptInbound drops the Results object being received and queues an
// Alert 1225 (no end of data) naming its Source for the reply.
func (t *turn) interruptInbound(reason string) {
	in := t.st.Inbound
	t.st.Inbound = nil
	t.e.log.Warn("drop chunked results", "device", t.device.ID,
		"session", t.in.Header.SessionID, "cmd", in.Seq, "received", len(in.Data)+len(in.RawData),
		"total", in.Total, "reason", reason)
	alert := syncml.Command{
		Name: syncml.CmdAlert,
		Data: strconv.Itoa(syncml.AlertNoEndOfData),
	}
	if in.Source != "" {
		alert.Items = []syncml.Item{{Source: &syncml.Locator{LocURI: in.Source}}}
	}
	t.st.notices = append(t.st.notices, alert)
	t.st.broken = append(t.st.broken, brokenResults{Seq: in.Seq,
		Status: syncml.StatusSizeMismatch, Reason: "results object interrupted: " + reason})
}

// failBrokenResults fails the commands whose chunked Results failed in
// this message. A Results object still open when the device ends its
// package is interrupted first.
func (t *turn) failBrokenResults() error {
	if t.st.Inbound != nil && t.in.Body.Final {
		t.interruptInbound("the device ended its package before the last chunk")
	}
	for _, b := range t.st.broken {
		if sc := t.st.Commands[b.Seq]; sc != nil {
			sc.Resolved = true
		}
		if err := t.finishSeq(b.Seq, store.CommandFailed, b.Status, "", b.Reason); err != nil {
			return err
		}
	}
	t.st.broken = nil
	return nil
}

// receivingResults reports whether the Results of command seq are still
// arriving in chunks, so the command must not settle yet.
func (t *turn) receivingResults(seq int64) bool {
	return t.st.Inbound != nil && t.st.Inbound.Seq == seq
}

// sendNotices adds the queued Alert 1225 commands to the reply, after
// every Status.
func (t *turn) sendNotices() {
	msgID := strconv.Itoa(t.st.ServerMsgID)
	for _, alert := range t.st.notices {
		alert.CmdID = t.nextCmdID()
		t.st.Refs[refKey(msgID, alert.CmdID)] = sentRef{Kind: refNotice}
		t.out = append(t.out, alert)
	}
	t.st.notices = nil
}

// payloadHasSecret reports whether a queued payload names a sealed secret.
// A payload that does not decode counts as having one, which keeps it out
// of chunking; materialize has already failed such a command anyway.
func payloadHasSecret(cmd store.Command) bool {
	var p Payload
	if err := json.Unmarshal(cmd.Payload, &p); err != nil {
		return true
	}
	return p.SecretID != ""
}
