package dmsession

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestDecodeStateRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"not json", "{"},
		{"array", "[]"},
		{"no version", `{"auth":true}`},
		{"newer version", `{"v":2,"auth":true}`},
		{"wrong type", `{"v":1,"auth":"yes"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if st, err := decodeState([]byte(tt.data)); err == nil {
				t.Fatalf("decodeState(%q) = %+v, want an error", tt.data, st)
			}
		})
	}
}

func TestDecodeStateRoundTrip(t *testing.T) {
	st := newSessionState()
	st.Authenticated = true
	st.LastMsgID = "0"
	st.Phase = phaseQueue
	st.Refs[refKey("2", "3")] = sentRef{Kind: refCommand, Seq: 7}
	st.Commands[7] = &sentCommand{MsgID: "2", Parts: []commandPart{{CmdID: "3", Name: "Exec"}}}
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeState(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("decodeState = %+v, want %+v", got, st)
	}
}

// FuzzDecodeState checks that any stored bytes either fail to decode or
// give a state with usable maps.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"v":1,"auth":true,"refs":{"1/2":{"k":"cmd","seq":3}},"cmds":{"3":null}}`))
	f.Add([]byte(`{"v":1,"inv":{"names":["vm1"],"leaves":{"vm1":{"VMID":{"status":200}}}}}`))
	f.Add([]byte(`{"v":1,"cmds":{"3":{"msg":"2","parts":[]}},"inv":{"leaves":{"vm1":null}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeState(data)
		if err != nil {
			return
		}
		if st.Refs == nil || st.Commands == nil {
			t.Fatalf("decoded state has nil maps")
		}
		for seq, c := range st.Commands {
			if c == nil || len(c.Parts) == 0 {
				t.Fatalf("decoded state keeps command %d without parts", seq)
			}
		}
		if inv := st.Inventory; inv != nil {
			for name, leaves := range inv.Leaves {
				if leaves == nil {
					t.Fatalf("decoded inventory has nil leaves for %q", name)
				}
			}
		}
	})
}
