package dmsession

import (
	"strconv"
	"strings"
	"testing"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
)

// openWithLimits sends Package 1 advertising the given device limits and
// answers the empty inventory, returning the reply that carries the first
// queued command.
func (d *lockstep) openWithLimits(maxMsg, maxObj int) *syncml.Message {
	d.f.t.Helper()
	m := d.build(credValid, true, pkg1()...)
	m.Header.Meta = &syncml.Meta{MaxMsgSize: strconv.Itoa(maxMsg)}
	if maxObj > 0 {
		m.Header.Meta.MaxObjSize = strconv.Itoa(maxObj)
	}
	d.send(m)
	return d.send(d.build(credNone, true, d.hdrOK(), status("1", "4", syncml.CmdGet, 200),
		results("1", "4", "./VirMO", "")))
}

// nextMessage is the device's answer to a non-final chunk: Status for the
// SyncHdr, 213 for the chunk, Alert 1222, no Final.
func (d *lockstep) nextMessage(chunk syncml.Command) *syncml.Message {
	return d.send(d.build(credNone, false, d.hdrOK(),
		status(d.serverMsg, chunk.CmdID, chunk.Name, syncml.StatusChunkAccepted),
		syncml.Command{Name: syncml.CmdAlert, Data: "1222"}))
}

// onlyCommand returns the one server command of a reply, failing when
// there is not exactly one.
func onlyCommand(t *testing.T, m *syncml.Message) syncml.Command {
	t.Helper()
	var found []syncml.Command
	for _, c := range m.Body.Commands {
		if c.Name != syncml.CmdStatus {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("reply has %d server commands, want 1: %v", len(found), describe(m))
	}
	return found[0]
}

func TestLargeObjectSentInChunks(t *testing.T) {
	tests := []struct {
		name, format, value string
	}{
		{"chr", "chr", strings.Repeat("0123456789abcdef", 700)},
		{"b64", "b64", strings.Repeat("QUJDRA==", 1500)},
		{"multibyte chr", "chr", strings.Repeat("é€𝄞", 900)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 0)
			seq := f.enqueue(replacePayload("Description", tt.format, tt.value))
			d := f.newDevice("LO1")
			const maxMsg = 2048
			reply := d.openWithLimits(maxMsg, 0)

			var joined strings.Builder
			for i := 0; ; i++ {
				body, err := syncml.Encode(reply)
				if err != nil {
					t.Fatalf("encode reply %d: %v", i, err)
				}
				if len(body) > maxMsg {
					t.Fatalf("reply %d is %d bytes, over MaxMsgSize %d", i, len(body), maxMsg)
				}
				c := onlyCommand(t, reply)
				it := c.Items[0]
				if it.Meta == nil || it.Meta.Format != tt.format {
					t.Fatalf("chunk %d Meta = %+v, want Format %s repeated", i, it.Meta, tt.format)
				}
				wantSize := ""
				if i == 0 {
					wantSize = strconv.Itoa(len(tt.value))
				}
				if it.Meta.Size != wantSize {
					t.Fatalf("chunk %d Meta Size = %q, want %q", i, it.Meta.Size, wantSize)
				}
				if tt.format == "b64" && len(it.Data.Value)%4 != 0 && it.MoreData {
					t.Fatalf("b64 chunk %d has %d characters, not a multiple of 4", i,
						len(it.Data.Value))
				}
				joined.WriteString(it.Data.Value)
				if reply.Body.Final == it.MoreData {
					t.Fatalf("chunk %d: Final %v with MoreData %v", i, reply.Body.Final, it.MoreData)
				}
				if !it.MoreData {
					reply = d.send(d.build(credNone, true, d.hdrOK(),
						status(d.serverMsg, c.CmdID, c.Name, 200)))
					break
				}
				if got := f.command(seq).State; got != store.CommandSent {
					t.Fatalf("command = %s during the transfer, want sent", got)
				}
				reply = d.nextMessage(c)
			}

			if joined.String() != tt.value {
				t.Fatalf("joined chunks differ from the value (%d of %d bytes)",
					joined.Len(), len(tt.value))
			}
			if got := f.command(seq); got.State != store.CommandDone || got.Status != 200 {
				t.Fatalf("command = %s status %d, want done 200", got.State, got.Status)
			}
			expect(t, "session end", reply, "Status "+strconv.Itoa(d.msgID)+"/0 SyncHdr 212", "Final")
		})
	}
}

func TestLargeObjectChunkRejected(t *testing.T) {
	f := newFixture(t, 0)
	seq := f.enqueue(replacePayload("Description", "chr", strings.Repeat("x", 5000)))
	d := f.newDevice("LO2")
	reply := d.openWithLimits(2048, 0)
	c := onlyCommand(t, reply)
	if !c.Items[0].MoreData {
		t.Fatal("first chunk lacks MoreData")
	}

	reply = d.send(d.build(credNone, true, d.hdrOK(),
		status(d.serverMsg, c.CmdID, c.Name, syncml.StatusDeviceFull)))
	expect(t, "after rejection", reply, "Status 3/0 SyncHdr 212", "Final")
	if got := f.command(seq); got.State != store.CommandFailed || got.Status != 420 {
		t.Fatalf("command = %s status %d, want failed 420", got.State, got.Status)
	}
}

func TestObjectOverDeviceMaxObjSize(t *testing.T) {
	f := newFixture(t, 0)
	seq := f.enqueue(replacePayload("Description", "chr", strings.Repeat("x", 3000)))
	d := f.newDevice("LO3")
	reply := d.openWithLimits(2048, 2000)
	expect(t, "nothing sent", reply, "Status 2/0 SyncHdr 212", "Final")
	got := f.command(seq)
	if got.State != store.CommandFailed || got.Status != syncml.StatusEntityTooLarge {
		t.Fatalf("command = %s status %d, want failed 413", got.State, got.Status)
	}
}

func TestServerAdvertisesLimits(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("LO4")
	reply := d.send(d.build(credValid, true, pkg1()...))
	meta := reply.Header.Meta
	if meta == nil || meta.MaxMsgSize != strconv.Itoa(DefaultMaxMsgSize) {
		t.Fatalf("reply SyncHdr Meta = %+v, want MaxMsgSize %d", meta, DefaultMaxMsgSize)
	}
	if meta.MaxObjSize != strconv.Itoa(DefaultMaxObjSize) {
		t.Fatalf("reply MaxObjSize = %q, want %d", meta.MaxObjSize, DefaultMaxObjSize)
	}
}

// resultsChunk is a Results chunk for the Get CmdRef 2 of server message 2.
func resultsChunk(data, size string, more bool) syncml.Command {
	c := results("2", "2", "./VirMO/vm1/Description", data)
	if size != "" {
		c.Items[0].Meta = &syncml.Meta{Size: size}
	}
	c.Items[0].MoreData = more
	return c
}

func getPayload() Payload {
	return Payload{Command: CommandTemplate{Name: syncml.CmdGet,
		Items: []ItemTemplate{{Target: "./VirMO/vm1/Description"}}}}
}

func TestChunkedResultsReassembled(t *testing.T) {
	f := newFixture(t, 0)
	seq := f.enqueue(getPayload())
	d := f.newDevice("LR1")
	d.openSession()

	reply := d.send(d.build(credNone, false, d.hdrOK(), status("2", "2", syncml.CmdGet, 200),
		resultsChunk("hello ", "11", true)))
	expect(t, "first chunk", reply, "Status 3/0 SyncHdr 212", "Status 3/3 Results 213",
		"Alert#3 1222")
	if got := f.command(seq).State; got != store.CommandSent {
		t.Fatalf("command = %s after the first chunk, want sent", got)
	}

	d.send(d.build(credNone, true, d.hdrOK(), resultsChunk("world", "", false)))
	got := f.command(seq)
	if got.State != store.CommandDone || got.Result != "hello world" {
		t.Fatalf("command = %s result %q, want done %q", got.State, got.Result, "hello world")
	}
}

func TestChunkedResultsRejected(t *testing.T) {
	tests := []struct {
		name   string
		first  syncml.Command
		last   syncml.Command
		status int
	}{
		{"size mismatch", resultsChunk("hello ", "12", true), resultsChunk("world", "", false),
			syncml.StatusSizeMismatch},
		{"over announced size", resultsChunk("hello ", "8", true),
			resultsChunk("world", "", false), syncml.StatusSizeMismatch},
		{"no size", resultsChunk("hello ", "", true), resultsChunk("world", "", false),
			syncml.StatusSizeMismatch},
		{"over max obj size", resultsChunk("hello ", strconv.Itoa(DefaultMaxObjSize+1), true),
			resultsChunk("world", "", false), syncml.StatusEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 0)
			seq := f.enqueue(getPayload())
			d := f.newDevice("LR2")
			d.openSession()

			d.send(d.build(credNone, false, d.hdrOK(), status("2", "2", syncml.CmdGet, 200),
				tt.first))
			d.send(d.build(credNone, true, d.hdrOK(), tt.last))
			got := f.command(seq)
			if got.State != store.CommandFailed || got.Status != tt.status {
				t.Fatalf("command = %s status %d, want failed %d", got.State, got.Status,
					tt.status)
			}
			if got.Result != "" {
				t.Fatalf("command result = %q, want none", got.Result)
			}
		})
	}
}

func TestChunkedResultsInterrupted(t *testing.T) {
	f := newFixture(t, 0)
	seq := f.enqueue(getPayload())
	d := f.newDevice("LR3")
	d.openSession()

	d.send(d.build(credNone, false, d.hdrOK(), status("2", "2", syncml.CmdGet, 200),
		resultsChunk("hello ", "11", true)))
	reply := d.send(d.build(credNone, true, d.hdrOK()))
	expect(t, "package ended early", reply, "Status 4/0 SyncHdr 212", "Alert#2 1225", "Final")
	if got := f.command(seq); got.State != store.CommandFailed {
		t.Fatalf("command = %s, want failed", got.State)
	}
}
