package wbxml

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/virmo/virmo/syncml"
)

func TestDecodeSyncMLCorpusFields(t *testing.T) {
	files := corpusFiles(t, ".wbxml")
	tests := []struct {
		file      string
		verDTD    string
		sessionID string
		commands  []string
		// check inspects fields that the corpus index names for this file.
		check func(t *testing.T, m *syncml.Message)
	}{
		{
			file: "025-moto-dm12-server-get-maxdepth.wbxml", verDTD: "1.2", sessionID: "22100",
			commands: []string{"Status", "Status", "Status", "Get"},
			check: func(t *testing.T, m *syncml.Message) {
				if m.Header.Cred == nil || m.Header.Cred.Meta.Type != "syncml:auth-basic" {
					t.Errorf("Cred = %+v, want auth-basic", m.Header.Cred)
				}
				if got := m.Body.Commands[0].Data; got != "212" {
					t.Errorf("SyncHdr status = %q, want 212", got)
				}
				if got := m.Body.Commands[3].Items[0].Target.LocURI; got != "./DevDetail/URI/MaxDepth" {
					t.Errorf("Get LocURI = %q", got)
				}
			},
		},
		{
			file: "026-moto-dm12-client-pkg1-alert1201-replace-devinfo.wbxml", verDTD: "1.2",
			sessionID: "24673", commands: []string{"Alert", "Replace"},
			check: func(t *testing.T, m *syncml.Message) {
				if m.Header.Target.LocName != "Scts" || m.Header.Source.LocName != "SampleServer" {
					t.Errorf("LocNames = %q, %q", m.Header.Target.LocName, m.Header.Source.LocName)
				}
				if got := m.Body.Commands[0].Data; got != "1201" {
					t.Errorf("Alert code = %q, want 1201", got)
				}
				items := m.Body.Commands[1].Items
				if len(items) != 9 {
					t.Fatalf("Replace has %d Items, want 9", len(items))
				}
				if d := items[5].Data; d == nil || d.Value != "" {
					t.Errorf("Bearer/GSM Data = %+v, want empty non-nil", d)
				}
			},
		},
		{
			file: "027-moto-dm11-server-add-interior-node.wbxml", verDTD: "1.1", sessionID: "30483",
			commands: []string{"Status", "Status", "Status", "Add"},
			check: func(t *testing.T, m *syncml.Message) {
				item := m.Body.Commands[3].Items[0]
				if item.Target.LocURI != "./TestLeafNode" {
					t.Errorf("Add LocURI = %q", item.Target.LocURI)
				}
				if item.Meta == nil || item.Meta.Format != "node" {
					t.Errorf("Add Meta = %+v, want Format node", item.Meta)
				}
				if item.Data == nil || item.Data.Value != "" {
					t.Errorf("Add Data = %+v, want empty non-nil", item.Data)
				}
			},
		},
		{
			file: "028-moto-dm12-client-status-results-maxdepth-from-hexdump.wbxml", verDTD: "1.2",
			sessionID: "22100", commands: []string{"Status", "Status", "Results"},
			check: func(t *testing.T, m *syncml.Message) {
				item := m.Body.Commands[2].Items[0]
				want := syncml.Meta{Format: "int", Type: "text/plain", Size: "2"}
				if item.Meta == nil || *item.Meta != want {
					t.Errorf("Results Meta = %+v, want %+v", item.Meta, want)
				}
				if item.Data == nil || item.Data.Value != "20" {
					t.Errorf("Results Data = %+v, want 20", item.Data)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, ok := files[tt.file]
			if !ok {
				t.Fatalf("corpus file %s is missing", tt.file)
			}
			if !IsWBXML(b) {
				t.Errorf("IsWBXML = false")
			}
			m, err := DecodeSyncML(b)
			if err != nil {
				t.Fatalf("DecodeSyncML: %v", err)
			}
			if m.Header.VerDTD != tt.verDTD {
				t.Errorf("VerDTD = %q, want %q", m.Header.VerDTD, tt.verDTD)
			}
			if m.Header.SessionID != tt.sessionID {
				t.Errorf("SessionID = %q, want %q", m.Header.SessionID, tt.sessionID)
			}
			var names []string
			for _, c := range m.Body.Commands {
				names = append(names, c.Name)
			}
			if !reflect.DeepEqual(names, tt.commands) {
				t.Fatalf("commands = %v, want %v", names, tt.commands)
			}
			if !m.Body.Final {
				t.Errorf("Final = false")
			}
			tt.check(t, m)
		})
	}
}

func TestEncodeSyncMLRoundTrip(t *testing.T) {
	messages := xmlCorpus(t)
	if len(messages) < 30 {
		t.Fatalf("only %d XML corpus messages decode", len(messages))
	}
	for name, m := range messages {
		t.Run(name, func(t *testing.T) {
			b, err := EncodeSyncML(m)
			if err != nil {
				t.Fatalf("EncodeSyncML: %v", err)
			}
			if !IsWBXML(b) {
				t.Errorf("IsWBXML = false for encoded message")
			}
			got, err := DecodeSyncML(b)
			if err != nil {
				t.Fatalf("DecodeSyncML: %v", err)
			}
			assertSameMessage(t, normalise(got), normalise(m))
		})
	}
}

func TestEncodeSyncMLOpaqueData(t *testing.T) {
	raw := string([]byte{0x00, 0xFF, 0x10, 'a'})
	m := &syncml.Message{
		Header: syncml.Header{VerDTD: "1.2", VerProto: "DM/1.2", SessionID: "1", MsgID: "1"},
		Body: syncml.Body{Commands: []syncml.Command{{
			Name: syncml.CmdReplace, CmdID: "2",
			Items: []syncml.Item{{
				Target: &syncml.Locator{LocURI: "./A/B"},
				Meta:   &syncml.Meta{Format: "bin"},
				Data:   &syncml.Data{Value: raw, Opaque: true},
			}},
		}}, Final: true},
	}
	b, err := EncodeSyncML(m)
	if err != nil {
		t.Fatalf("EncodeSyncML: %v", err)
	}
	if !bytes.Contains(b, []byte{tokenOpaque, 4, 0x00, 0xFF, 0x10, 'a'}) {
		t.Errorf("encoding % X holds no OPAQUE token with the raw bytes", b)
	}
	got, err := DecodeSyncML(b)
	if err != nil {
		t.Fatalf("DecodeSyncML: %v", err)
	}
	assertSameMessage(t, got, m)
}

func TestEncodeSyncMLHeaderBytes(t *testing.T) {
	b, err := EncodeSyncML(&syncml.Message{})
	if err != nil {
		t.Fatalf("EncodeSyncML: %v", err)
	}
	// Version 1.2, public id 0x1201 as A4 01, UTF-8, empty string table,
	// then SyncML with content.
	want := []byte{0x02, 0xA4, 0x01, 0x6A, 0x00, 0x6D}
	if !bytes.HasPrefix(b, want) {
		t.Errorf("header = % X, want prefix % X", b[:min(len(b), 6)], want)
	}
}

func TestEncodeSyncMLRejects(t *testing.T) {
	tests := []struct {
		name string
		m    *syncml.Message
	}{
		{"nil message", nil},
		{"unknown command", message(syncml.Command{Name: "Frobnicate", CmdID: "1"})},
		{"command named Final", message(syncml.Command{Name: "Final"})},
		{"NUL in text", message(syncml.Command{Name: syncml.CmdAlert, CmdID: "1", Data: "1\x00"})},
		{"non-DDF XML data", message(syncml.Command{Name: syncml.CmdReplace, CmdID: "1",
			Items: []syncml.Item{{Data: &syncml.Data{Value: "<Enabled/>", XML: true}}}})},
		{"malformed XML data", message(syncml.Command{Name: syncml.CmdReplace, CmdID: "1",
			Items: []syncml.Item{{Data: &syncml.Data{Value: "<MgmtTree>", XML: true}}}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := EncodeSyncML(tt.m); err == nil {
				t.Errorf("EncodeSyncML succeeded, want an error")
			}
		})
	}
}

func message(cmds ...syncml.Command) *syncml.Message {
	return &syncml.Message{Body: syncml.Body{Commands: cmds}}
}

func assertSameMessage(t *testing.T, got, want *syncml.Message) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("messages differ\ngot:  %s\nwant: %s", g, w)
	}
}

func TestIsWBXML(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"SyncML 1.2 id", []byte{0x02, 0xA4, 0x01, 0x6A}, true},
		{"SyncML 1.1 id", []byte{0x03, 0x9F, 0x53, 0x6A}, true},
		{"string table id", []byte{0x02, 0x00, 0x00, 0x6A}, true},
		{"XML declaration", []byte(`<?xml version="1.0"?>`), false},
		{"byte-order mark", []byte("\xef\xbb\xbf<SyncML/>"), false},
		{"WBXML 1.0", []byte{0x00, 0x01, 0x6A}, false},
		{"other public id", []byte{0x02, 0x05, 0x6A}, false},
		{"empty", nil, false},
		{"truncated id", []byte{0x02, 0xA4}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsWBXML(tt.in); got != tt.want {
				t.Errorf("IsWBXML(% X) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
