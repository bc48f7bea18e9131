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

const descriptionURI = "./VirMO/vm1/Description"

// chunk returns a Replace of the VM description carrying data; size, when
// set, is its Meta Size.
func chunk(data, size string, more bool) syncml.Command {
	return syncml.Command{Name: syncml.CmdReplace, Items: []syncml.Item{{
		Target:   &syncml.Locator{LocURI: descriptionURI},
		Meta:     &syncml.Meta{Format: "chr", Size: size},
		Data:     syncml.NewData(data),
		MoreData: more,
	}}}
}

// serverPackage is one scripted server message: its commands and Final.
type serverPackage struct {
	cmds  []syncml.Command
	final bool
}

// runChunkScript answers Package 1 with the first package, each agent
// message with the next one, and the last agent message with a bare
// Final. It returns every message the agent sent after Package 1.
func runChunkScript(t *testing.T, ta *testAgent, srv *dmServer,
	pkgs []serverPackage) []*syncml.Message {
	t.Helper()
	var mu sync.Mutex
	var sent []*syncml.Message
	nonce := testServerNonce
	var steps []step
	for i := 0; i <= len(pkgs); i++ {
		steps = append(steps, func(t *testing.T, _ []byte, in *syncml.Message) *syncml.Message {
			mu.Lock()
			defer mu.Unlock()
			if i > 0 {
				sent = append(sent, in)
				nonce = nextServerNonce(in, nonce)
			}
			if i == len(pkgs) {
				return serverMessage(in, nonce, hdrStatus(in, syncml.StatusAuthAccepted, nil))
			}
			cmds := append([]syncml.Command{hdrStatus(in, syncml.StatusAuthAccepted, nil)},
				pkgs[i].cmds...)
			m := serverMessage(in, nonce, cmds...)
			m.Body.Final = pkgs[i].final
			return m
		})
	}
	srv.script(steps...)
	if err := ta.runSession(context.Background(), syncml.AlertClientInitiated); err != nil {
		t.Fatalf("session: %v", err)
	}
	srv.done()
	return sent
}

// answers describes the commands of an agent message after the SyncHdr
// Status, one per line, and Final.
func answers(m *syncml.Message) string {
	var lines []string
	for _, c := range m.Body.Commands {
		switch {
		case c.Name == syncml.CmdStatus && c.CmdRef == "0":
		case c.Name == syncml.CmdStatus:
			lines = append(lines, "Status "+c.CmdRef+" "+c.Cmd+" "+c.Data)
		default:
			lines = append(lines, c.Name+" "+c.Data)
		}
	}
	if m.Body.Final {
		lines = append(lines, "Final")
	}
	return strings.Join(lines, "; ")
}

func TestLargeObjectReassembled(t *testing.T) {
	value := strings.Repeat("0123456789", 30)
	tests := []struct {
		name   string
		pkgs   []serverPackage
		want   []string
		stored string
	}{
		{
			name: "three chunks",
			pkgs: []serverPackage{
				{cmds: []syncml.Command{chunk(value[:100], "300", true)}},
				{cmds: []syncml.Command{chunk(value[100:200], "", true)}},
				{cmds: []syncml.Command{chunk(value[200:], "", false)}, final: true},
			},
			want: []string{
				"Status 2 Replace 213; Alert 1222",
				"Status 2 Replace 213; Alert 1222",
				"Status 2 Replace 200; Final",
			},
			stored: value,
		},
		{
			name: "size mismatch",
			pkgs: []serverPackage{
				{cmds: []syncml.Command{chunk(value[:100], "301", true)}},
				{cmds: []syncml.Command{chunk(value[100:], "", false)}, final: true},
			},
			want: []string{
				"Status 2 Replace 213; Alert 1222",
				"Status 2 Replace 424; Final",
			},
		},
		{
			name: "over max obj size",
			pkgs: []serverPackage{
				{cmds: []syncml.Command{chunk(value[:100], strconv.Itoa(DefaultMaxObjSize+1),
					true)}, final: true},
			},
			want: []string{"Status 2 Replace 413; Final"},
		},
		{
			name: "interleaved command",
			pkgs: []serverPackage{
				{cmds: []syncml.Command{chunk(value[:100], "300", true)}},
				{cmds: []syncml.Command{{Name: syncml.CmdGet, Items: []syncml.Item{{
					Target: &syncml.Locator{LocURI: "./VirMO/vm1/State"}}}}}, final: true},
			},
			want: []string{
				"Status 2 Replace 213; Alert 1222",
				"Alert 1225; Status 2 Get 200; Results ; Final",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newDMServer(t)
			ta := newTestAgent(t, srv)
			err := ta.tree.Update(func(tx *dmtree.Tx) error {
				return tx.AddNode(descriptionURI, dmtree.FormatChr, []byte("old"))
			})
			if err != nil {
				t.Fatalf("create the description: %v", err)
			}

			sent := runChunkScript(t, ta, srv, tt.pkgs)
			if len(sent) != len(tt.want) {
				t.Fatalf("agent sent %d messages after Package 1, want %d", len(sent),
					len(tt.want))
			}
			for i, m := range sent {
				if got := answers(m); got != tt.want[i] {
					t.Errorf("message %d = %q, want %q", i+2, got, tt.want[i])
				}
			}
			want := tt.stored
			if want == "" {
				want = "old"
			}
			if got := ta.value(t, descriptionURI); got != want {
				t.Errorf("description = %d bytes %.20q, want %d bytes %.20q", len(got), got,
					len(want), want)
			}
		})
	}
}

func TestAgentAdvertisesLimits(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv, func(c *Config) { c.MaxMsgSize = 8192 })
	var meta *syncml.Meta
	srv.script(func(t *testing.T, _ []byte, in *syncml.Message) *syncml.Message {
		meta = in.Header.Meta
		return serverMessage(in, testServerNonce, hdrStatus(in, syncml.StatusAuthAccepted, nil))
	})
	if err := ta.runSession(context.Background(), syncml.AlertClientInitiated); err != nil {
		t.Fatalf("session: %v", err)
	}
	if meta == nil || meta.MaxMsgSize != "8192" {
		t.Fatalf("Package 1 Meta = %+v, want MaxMsgSize 8192", meta)
	}
	if meta.MaxObjSize != strconv.Itoa(DefaultMaxObjSize) {
		t.Fatalf("Package 1 MaxObjSize = %q, want %d", meta.MaxObjSize, DefaultMaxObjSize)
	}
	if got := ta.value(t, "./DevDetail/LrgObj"); got != "true" {
		t.Fatalf("DevDetail/LrgObj = %q, want true", got)
	}
}
