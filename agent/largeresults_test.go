package agent

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/syncml"
)

// withLimits adds the server's MaxMsgSize and MaxObjSize to the SyncHdr
// Meta of m.
func withLimits(m *syncml.Message, maxMsgSize, maxObjSize int) *syncml.Message {
	m.Header.Meta = &syncml.Meta{MaxMsgSize: strconv.Itoa(maxMsgSize),
		MaxObjSize: strconv.Itoa(maxObjSize)}
	return m
}

func TestResultsSentInChunks(t *testing.T) {
	const maxMsgSize = 2048
	value := strings.Repeat("0123456789", 600)
	tests := []struct {
		name       string
		maxObjSize int
		// chunkStatus is the server's Status for each chunk.
		chunkStatus int
		// minChunks and maxChunks bound the chunks sent.
		minChunks int
		maxChunks int
		wantGet   string
		wantData  string
	}{
		{"accepted", DefaultMaxObjSize, syncml.StatusChunkAccepted,
			len(value)/maxMsgSize + 1, 20, "200", value},
		{"first chunk rejected", DefaultMaxObjSize, syncml.StatusSizeMismatch, 1, 1, "200",
			""},
		{"over server max obj size", 1000, 0, 0, 0, "413", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newDMServer(t)
			ta := newTestAgent(t, srv)
			err := ta.tree.Update(func(tx *dmtree.Tx) error {
				return tx.AddNode(descriptionURI, dmtree.FormatChr, []byte(value))
			})
			if err != nil {
				t.Fatalf("create the description: %v", err)
			}

			var mu sync.Mutex
			var sent []*syncml.Message
			var sizes []int
			nonce := testServerNonce
			get := syncml.Command{Name: syncml.CmdGet, Items: []syncml.Item{{
				Target: &syncml.Locator{LocURI: descriptionURI}}}}
			steps := []step{func(t *testing.T, _ []byte, in *syncml.Message) *syncml.Message {
				return withLimits(serverMessage(in, nonce,
					hdrStatus(in, syncml.StatusAuthAccepted, nil), get), maxMsgSize, tt.maxObjSize)
			}}
			answerChunk := func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
				mu.Lock()
				defer mu.Unlock()
				sent = append(sent, in)
				sizes = append(sizes, len(raw))
				nonce = nextServerNonce(in, nonce)
				cmds := []syncml.Command{hdrStatus(in, syncml.StatusAuthAccepted, nil)}
				var more bool
				for _, c := range in.Body.Commands {
					if c.Name == syncml.CmdResults && c.Items[0].MoreData {
						more = true
						cmds = append(cmds, statusFor(in, c.CmdID, c.Name, tt.chunkStatus))
					}
				}
				if more && tt.chunkStatus == syncml.StatusChunkAccepted {
					cmds = append(cmds, sessionAlert(syncml.AlertNextMessage))
				}
				m := serverMessage(in, nonce, cmds...)
				m.Body.Final = !more || tt.chunkStatus != syncml.StatusChunkAccepted
				return withLimits(m, maxMsgSize, tt.maxObjSize)
			}
			for range 20 {
				steps = append(steps, answerChunk)
			}
			srv.script(steps...)
			if err := ta.runSession(context.Background(), syncml.AlertClientInitiated); err != nil {
				t.Fatalf("session: %v", err)
			}

			var chunks []syncml.Item
			getStatus := ""
			for i, m := range sent {
				if sizes[i] > maxMsgSize {
					t.Errorf("message %d is %d bytes, over the server's MaxMsgSize %d",
						i+2, sizes[i], maxMsgSize)
				}
				for _, c := range m.Body.Commands {
					switch {
					case c.Name == syncml.CmdResults:
						chunks = append(chunks, c.Items...)
					case c.Name == syncml.CmdStatus && c.Cmd == syncml.CmdGet:
						getStatus = c.Data
					case isNextMessageAlert(c):
						t.Errorf("message %d asks for the server's next message", i+2)
					}
				}
				more := len(m.Body.Commands) > 0 &&
					m.Body.Commands[len(m.Body.Commands)-1].Name == syncml.CmdResults &&
					m.Body.Commands[len(m.Body.Commands)-1].Items[0].MoreData
				if m.Body.Final == more {
					t.Errorf("message %d: Final %v with MoreData %v", i+2, m.Body.Final, more)
				}
			}
			if getStatus != tt.wantGet {
				t.Fatalf("Get status = %q, want %q", getStatus, tt.wantGet)
			}
			if len(chunks) < tt.minChunks || len(chunks) > tt.maxChunks {
				t.Fatalf("agent sent %d chunks, want %d to %d", len(chunks), tt.minChunks,
					tt.maxChunks)
			}
			if tt.maxChunks == 0 {
				return
			}
			if got := metaSize(chunks[0].Meta); got != strconv.Itoa(len(value)) {
				t.Errorf("first chunk Meta Size = %q, want %d", got, len(value))
			}
			var joined strings.Builder
			for i, it := range chunks {
				if i > 0 && metaSize(it.Meta) != "" {
					t.Errorf("chunk %d has Meta Size %q, want none", i, metaSize(it.Meta))
				}
				if tt.wantData != "" && it.MoreData != (i < len(chunks)-1) {
					t.Errorf("chunk %d MoreData = %v", i, it.MoreData)
				}
				joined.WriteString(it.Data.Value)
			}
			if tt.wantData != "" && joined.String() != tt.wantData {
				t.Errorf("joined chunks = %d bytes, want the %d-byte value", joined.Len(),
					len(tt.wantData))
			}
		})
	}
}
