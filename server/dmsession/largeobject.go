package dmsession

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
	"github.com/virmo/virmo/wbxml"
)

// Defaults of Config.MaxMsgSize and Config.MaxObjSize, in bytes.
const (
	DefaultMaxMsgSize = 64 << 10
	DefaultMaxObjSize = 4 << 20
)

// refChunk is the sentRef kind of a non-final chunk of a large object. Its
// Status must be 213. The last chunk is a refCommand part like any command.
const refChunk = "chunk"

// refNotice is the sentRef kind of a server Alert 1225, whose Status needs
// no handling.
const refNotice = "notice"

// outboundObject is a queued command whose single Item is sent in chunks
// over several messages. Only offsets are stored, because each message
// builds the command again from the queue, so session state never
// contains the value.
type outboundObject struct {
	Seq int64 `json:"seq"`
	// Offset is how many bytes of the Item's wire form were sent: of the
	// text in XML, of the raw bytes of a b64 value in WBXML. Total is the
	// whole length, the Meta Size of the first chunk.
	Offset int `json:"off"`
	Total  int `json:"total"`
	// Digest is the SHA-256 of the wire form, so a payload changed between
	// messages is detected instead of sent half old, half new.
	Digest []byte `json:"sha"`
	// Ref is "MsgID/CmdID" of the last chunk sent, Status its Status (0
	// until the device returns one).
	Ref    string `json:"ref"`
	Status int    `json:"status,omitempty"`
}

// inboundObject is a Results Item the device sends in chunks.
type inboundObject struct {
	Seq int64 `json:"seq"`
	// Source is the Item's Source LocURI, which every chunk repeats.
	Source string `json:"src"`
	Total  int    `json:"total"`
	Data   string `json:"data"`
	// Opaque marks a b64 value received over WBXML as OPAQUE chunks. Total
	// then counts raw bytes, and RawData, which JSON keeps intact as
	// base64, takes the place of Data.
	Opaque  bool   `json:"opaque,omitempty"`
	RawData []byte `json:"raw,omitempty"`
}

// opaqueBinary reports whether the device sent this message in WBXML,
// where b64 values travel as OPAQUE raw bytes. The body decides because
// the codec that decoded it matched its form.
func (t *turn) opaqueBinary() bool {
	return wbxml.IsWBXML(t.req.body)
}

// wireItem returns it in the form the reply's codec sends. In WBXML a b64
// value becomes OPAQUE raw bytes with Format bin, so Meta Size, chunk
// lengths and MaxObjSize count raw bytes as the device receives them.
func (t *turn) wireItem(it syncml.Item) syncml.Item {
	if t.opaqueBinary() {
		wbxml.B64ItemToOpaque(&it)
	}
	return it
}

// sizeMeta returns the SyncHdr Meta that advertises the server's limits.
func (t *turn) sizeMeta() *syncml.Meta {
	return &syncml.Meta{
		MaxMsgSize: strconv.Itoa(t.e.cfg.MaxMsgSize),
		MaxObjSize: strconv.Itoa(t.e.cfg.MaxObjSize),
	}
}

// takePeerLimits stores the MaxMsgSize and MaxObjSize the device sent in
// its SyncHdr Meta. They apply for the rest of the session until the device
// sends new ones. A value that is not a positive number is ignored.
func (t *turn) takePeerLimits() {
	meta := t.in.Header.Meta
	if meta == nil {
		return
	}
	if size, err := strconv.Atoi(meta.MaxMsgSize); err == nil && size > 0 {
		t.st.MaxMsgSize = size
	}
	if size, err := strconv.Atoi(meta.MaxObjSize); err == nil && size > 0 {
		t.st.MaxObjSize = size
	}
}

// nextMessageRequested reports whether the device requested the next
// message of the server's package with Alert 1222.
func (t *turn) nextMessageRequested() bool {
	for _, c := range t.in.Body.Commands {
		if c.Name == syncml.CmdAlert && c.Data == strconv.Itoa(syncml.AlertNextMessage) {
			return true
		}
	}
	return false
}

// chunkStatus records the Status of the last chunk sent. A Status for an
// older chunk changes nothing.
func (t *turn) chunkStatus(key string, code int) {
	if ob := t.st.Outbound; ob != nil && ob.Ref == key {
		ob.Status = code
	}
}

// chunkable reports whether c can be sent as a large object: an Add or
// Replace with one Item that has Data. Values of a secret placeholder are
// small and never chunked, so no outbound digest covers secret material.
func chunkable(cmd store.Command, c syncml.Command) bool {
	if c.Name != syncml.CmdAdd && c.Name != syncml.CmdReplace {
		return false
	}
	return len(c.Items) == 1 && c.Items[0].Data != nil && !payloadHasSecret(cmd)
}

// objectTooLarge returns the length of the first Item data in c larger
// than the device's MaxObjSize, or 0 when every Item fits.
func (t *turn) objectTooLarge(c syncml.Command) int {
	if t.st.MaxObjSize <= 0 {
		return 0
	}
	for _, it := range c.Items {
		it = t.wireItem(it)
		if it.Data != nil && len(it.Data.Value) > t.st.MaxObjSize {
			return len(it.Data.Value)
		}
	}
	for _, child := range c.Commands {
		if n := t.objectTooLarge(child); n > 0 {
			return n
		}
	}
	return 0
}

// startOutbound sends the first chunk of the queued command cmd, already
// built as c, and records the transfer in the session.
func (t *turn) startOutbound(cmd store.Command, c syncml.Command, sc *sentCommand) error {
	c.Items = []syncml.Item{t.wireItem(c.Items[0])}
	text := c.Items[0].Data.Value
	digest := sha256.Sum256([]byte(text))
	t.st.Outbound = &outboundObject{Seq: cmd.Seq, Total: len(text), Digest: digest[:]}
	return t.sendChunk(cmd, c, sc)
}

// continueOutbound sends the next chunk of the large object in transfer.
// It returns false when there is none to send: the device rejected the
// last chunk (the command fails with that status), sent no status for
// it, or the command is gone. The session then goes on with the queue.
func (t *turn) continueOutbound() (bool, error) {
	ob := t.st.Outbound
	t.st.Outbound = nil
	log := t.e.log.With("device", t.device.ID, "session", t.in.Header.SessionID, "cmd", ob.Seq)

	cmd, err := t.q.GetCommand(t.ctx, t.device.ID, ob.Seq)
	if err != nil {
		log.Warn("drop large object of a command no longer queued", "err", err)
		return false, nil
	}
	switch ob.Status {
	case syncml.StatusChunkAccepted:
	case 0:
		// The command stays sent and goes again in a later session.
		log.Warn("device sent no status for a chunk, so the large object is dropped")
		t.st.Commands[ob.Seq] = &sentCommand{Resolved: true,
			Parts: []commandPart{{CmdID: ob.Ref, Name: refChunk}}}
		return false, nil
	default:
		reason := fmt.Sprintf("chunk rejected with status %d", ob.Status)
		return false, t.finishCommand(cmd, store.CommandFailed, ob.Status, "", reason)
	}

	c, sc, err := t.materialize(cmd)
	if err != nil {
		return false, t.failOutbound(cmd, err)
	}
	c.Items = []syncml.Item{t.wireItem(c.Items[0])}
	digest := sha256.Sum256([]byte(c.Items[0].Data.Value))
	if !bytes.Equal(digest[:], ob.Digest) {
		return false, t.finishCommand(cmd, store.CommandFailed, 0, "",
			"payload changed while its large object was being sent")
	}
	ob.Status = 0
	t.st.Outbound = ob
	return true, t.sendChunk(cmd, c, sc)
}

// failOutbound fails a command whose payload can no longer be built.
func (t *turn) failOutbound(cmd store.Command, err error) error {
	if bad, ok := err.(*payloadError); ok {
		return t.finishCommand(cmd, store.CommandFailed, 0, "", bad.Error())
	}
	return err
}

// sendChunk adds the next chunk of t.st.Outbound to the reply: the rest of
// the value when it fits, which ends the transfer, else the longest
// prefix that fits, with MoreData and without Final. Meta is repeated on
// every chunk, but Meta Size (the total) goes on the first one only.
func (t *turn) sendChunk(cmd store.Command, c syncml.Command, sc *sentCommand) error {
	ob := t.st.Outbound
	text := c.Items[0].Data.Value
	rest := text[ob.Offset:]

	last := chunkCommand(c, rest, ob.Offset == 0, ob.Total, false)
	if ob.Offset > 0 && t.fits(last) {
		t.out = append(t.out, last)
		t.st.Commands[cmd.Seq] = sc
		t.st.Outbound = nil
		return nil
	}

	n := t.largestChunk(c, rest, ob)
	if n == 0 {
		t.st.Outbound = nil
		reason := fmt.Sprintf("device MaxMsgSize %d is too small for one chunk", t.st.MaxMsgSize)
		return t.finishCommand(cmd, store.CommandFailed, 0, "", reason)
	}
	chunk := chunkCommand(c, rest[:n], ob.Offset == 0, ob.Total, true)
	t.out = append(t.out, chunk)
	key := refKey(sc.MsgID, chunk.CmdID)
	t.st.Refs[key] = sentRef{Kind: refChunk, Seq: cmd.Seq}
	ob.Ref = key
	ob.Offset += n
	t.noFinal = true
	return nil
}

// largestChunk returns the length of the longest prefix of rest that fits
// in the reply as a chunk with MoreData, by binary search on the encoded
// size. It cuts text only at rune starts, and b64 text at multiples of 4,
// so each chunk is valid on its own. OPAQUE raw bytes are cut anywhere.
// 0 means not even one unit fits.
func (t *turn) largestChunk(c syncml.Command, rest string, ob *outboundObject) int {
	unit := 1
	if m := c.Items[0].Meta; m != nil && m.Format == formatB64 {
		unit = 4
	}
	opaque := c.Items[0].Data.Opaque
	cut := func(n int) int {
		n -= n % unit
		for !opaque && n > 0 && n < len(rest) && !utf8.RuneStart(rest[n]) {
			n--
		}
		return n
	}

	// fitsAt is true up to the longest prefix that fits and false after
	// it. A cut of 0 counts as fitting, so the search never stops below a
	// real chunk.
	fitsAt := func(n int) bool {
		n = cut(n)
		return n == 0 || t.fits(chunkCommand(c, rest[:n], ob.Offset == 0, ob.Total, true))
	}
	low, high := 0, len(rest)-1
	for low < high {
		mid := (low + high + 1) / 2
		if fitsAt(mid) {
			low = mid
		} else {
			high = mid - 1
		}
	}
	return cut(low)
}

// chunkCommand returns c with its Item's Data replaced by data.
func chunkCommand(c syncml.Command, data string, first bool, total int, more bool) syncml.Command {
	it := c.Items[0]
	meta := syncml.Meta{}
	if it.Meta != nil {
		meta = *it.Meta
	}
	meta.Size = ""
	if first {
		meta.Size = strconv.Itoa(total)
	}
	it.Meta = nil
	if meta != (syncml.Meta{}) {
		it.Meta = &meta
	}
	it.Data = &syncml.Data{Value: data, Opaque: it.Data.Opaque}
	it.MoreData = more
	c.Items = []syncml.Item{it}
	return c
}
