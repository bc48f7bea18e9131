package agent

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"

	"github.com/virmo/virmo/syncml"
)

// outboundObject is a Results Item the agent sends in chunks because the
// reply would not fit the server's MaxMsgSize.
type outboundObject struct {
	// results is the whole Results command with its one Item.
	results syncml.Command
	// data is the Item's wire form: the text in XML, and in WBXML the raw
	// bytes of a b64 value, sent as OPAQUE. Meta Size is its length.
	data   string
	opaque bool
	offset int
	// ref is "MsgID/CmdID" of the last chunk sent.
	ref string
}

// takePeerLimits stores the MaxMsgSize and MaxObjSize of the server's
// SyncHdr Meta. They apply until the server sends new ones, and a value
// that is not a positive number is ignored.
func (s *session) takePeerLimits(in *syncml.Message) {
	meta := in.Header.Meta
	if meta == nil {
		return
	}
	if n, err := strconv.Atoi(meta.MaxMsgSize); err == nil && n > 0 {
		s.peerMaxMsgSize = n
	}
	if n, err := strconv.Atoi(meta.MaxObjSize); err == nil && n > 0 {
		s.peerMaxObjSize = n
	}
}

// sendLimit returns the extra messages a session may take to send one
// object of the server's MaxObjSize in chunks that fill at least half of
// the server's MaxMsgSize each.
func (s *session) sendLimit() int {
	if s.peerMaxMsgSize <= 0 || s.peerMaxObjSize <= 0 {
		return 0
	}
	return s.peerMaxObjSize / max(s.peerMaxMsgSize/2, 1)
}

// wireSize returns the length of an Item's data as the server counts it
// against MaxObjSize: the text in XML, the raw bytes of b64 data in WBXML.
func (s *session) wireSize(it syncml.Item) int {
	if it.Data == nil {
		return 0
	}
	if raw, ok := s.opaqueData(it); ok {
		return len(raw)
	}
	return len(it.Data.Value)
}

// opaqueData returns the raw bytes of a b64 Item when the agent speaks
// WBXML, where encodeMessage sends them as OPAQUE.
func (s *session) opaqueData(it syncml.Item) (string, bool) {
	if s.a.cfg.Encoding != EncodingWBXML || it.Meta == nil || it.Meta.Format != "b64" ||
		it.Data == nil || it.Data.Opaque {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(it.Data.Value)
	if err != nil {
		return "", false
	}
	return string(raw), true
}

// limitGetResults sets the Get's Status to 413 and drops its Results when
// an Item is larger than the server's MaxObjSize, which the server would
// reject anyway.
func (s *session) limitGetResults(get syncml.Command, replies []syncml.Command) []syncml.Command {
	if get.Name != syncml.CmdGet || s.peerMaxObjSize <= 0 {
		return replies
	}
	tooLarge := 0
	for _, c := range replies {
		if c.Name != syncml.CmdResults {
			continue
		}
		for _, it := range c.Items {
			tooLarge = max(tooLarge, s.wireSize(it))
		}
	}
	if tooLarge <= s.peerMaxObjSize {
		return replies
	}
	s.a.log.Warn("reject a Get whose results exceed the server's MaxObjSize",
		"session", s.id, "cmd", get.CmdID, "size", tooLarge, "max_obj_size", s.peerMaxObjSize)
	var kept []syncml.Command
	for _, c := range replies {
		switch {
		case c.Name == syncml.CmdResults:
			continue
		case c.Name == syncml.CmdStatus && c.CmdRef == get.CmdID:
			c.Data = strconv.Itoa(syncml.StatusEntityTooLarge)
		}
		kept = append(kept, c)
	}
	return kept
}

// checkChunkStatus drops the object being sent unless the server returned
// Status 213 for its last chunk.
func (s *session) checkChunkStatus(in *syncml.Message) {
	ob := s.outbound
	if ob == nil {
		return
	}
	code := 0
	for i := range in.Body.Commands {
		c := &in.Body.Commands[i]
		if c.Name == syncml.CmdStatus && c.MsgRef+"/"+c.CmdRef == ob.ref {
			code = statusCode(c)
		}
	}
	if code == syncml.StatusChunkAccepted {
		return
	}
	s.a.log.Warn("server did not accept a chunk of the results; dropping them",
		"session", s.id, "chunk", ob.ref, "status", code, "sent", ob.offset, "size", len(ob.data))
	s.outbound = nil
}

// largestResults returns the index in replies of the Results with one
// Item that has the largest data, or -1 when there is none.
func largestResults(replies []syncml.Command) int {
	best, bestSize := -1, 0
	for i, c := range replies {
		if c.Name != syncml.CmdResults || len(c.Items) != 1 || c.Items[0].Data == nil {
			continue
		}
		if n := len(c.Items[0].Data.Value); n > bestSize {
			best, bestSize = i, n
		}
	}
	return best
}

// startOutbound makes results the object sent in chunks.
func (s *session) startOutbound(results syncml.Command) {
	it := results.Items[0]
	ob := &outboundObject{results: results, data: it.Data.Value}
	if raw, ok := s.opaqueData(it); ok {
		meta := *it.Meta
		meta.Format = "bin"
		ob.results.Items = []syncml.Item{it}
		ob.results.Items[0].Meta = &meta
		ob.data, ob.opaque = raw, true
	}
	s.outbound = ob
}

// addChunk adds the next chunk of the outbound object to out: the rest
// when it fits, which ends the transfer, else the longest prefix that
// fits, with MoreData. Meta Size goes on the first chunk only.
func (s *session) addChunk(out *outgoing) {
	ob := s.outbound
	rest := ob.data[ob.offset:]
	first := ob.offset == 0
	if !first {
		if last := ob.chunk(rest, false); s.fitsPeer(out, last) {
			out.add(last)
			s.outbound = nil
			return
		}
	}

	// Data never shrinks in encoding, so no chunk is longer than the
	// message limit. That limit bounds the search.
	low, high := 0, min(len(rest), s.peerMaxMsgSize)
	for low < high {
		mid := (low + high + 1) / 2
		n := ob.cut(rest, mid)
		if n == 0 || s.fitsPeer(out, ob.chunk(rest[:n], true)) {
			low = mid
		} else {
			high = mid - 1
		}
	}
	n := ob.cut(rest, low)
	if n == 0 {
		s.a.log.Error("server MaxMsgSize is too small for one chunk; dropping the results",
			"session", s.id, "max_msg_size", s.peerMaxMsgSize)
		s.outbound = nil
		return
	}
	if n == len(rest) && !first {
		out.add(ob.chunk(rest, false))
		s.outbound = nil
		return
	}
	cmdID := out.add(ob.chunk(rest[:n], true))
	ob.ref = out.msg.Header.MsgID + "/" + cmdID
	ob.offset += n
}

// cut returns n moved back to a rune start, so a text chunk never splits
// a UTF-8 sequence. Raw bytes are cut anywhere.
func (ob *outboundObject) cut(rest string, n int) int {
	if ob.opaque {
		return n
	}
	for n > 0 && n < len(rest) && !utf8.RuneStart(rest[n]) {
		n--
	}
	return n
}

// chunk returns the Results with data as its Item's Data. Meta is kept on
// every chunk, and the first chunk adds Meta Size, the whole length.
func (ob *outboundObject) chunk(data string, more bool) syncml.Command {
	c := ob.results
	it := c.Items[0]
	meta := syncml.Meta{}
	if it.Meta != nil {
		meta = *it.Meta
	}
	meta.Size = ""
	if ob.offset == 0 {
		meta.Size = strconv.Itoa(len(ob.data))
	}
	it.Meta = &meta
	it.Data = &syncml.Data{Value: data, Opaque: ob.opaque}
	it.MoreData = more
	c.Items = []syncml.Item{it}
	return c
}

// fitsPeer reports whether out, with extra added, encodes within the
// server's MaxMsgSize. It counts Final, which the message may not carry,
// so the estimate errs on the safe side.
func (s *session) fitsPeer(out *outgoing, extra ...syncml.Command) bool {
	if s.peerMaxMsgSize <= 0 {
		return true
	}
	msg := out.msg
	msg.Body.Commands = append([]syncml.Command(nil), out.msg.Body.Commands...)
	for i, c := range extra {
		c.CmdID = strconv.Itoa(out.cmdID + 1 + i)
		msg.Body.Commands = append(msg.Body.Commands, c)
	}
	msg.Body.Final = true
	body, _, err := encodeMessage(s.a.cfg.Encoding, &msg)
	return err == nil && len(body) <= s.peerMaxMsgSize
}

// requestsNextMessage reports whether in requests the agent's next
// message with Alert 1222.
func requestsNextMessage(in *syncml.Message) bool {
	for _, c := range in.Body.Commands {
		if isNextMessageAlert(c) {
			return true
		}
	}
	return false
}
