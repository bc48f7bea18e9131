package syncml

import (
	"strings"
	"testing"
)

func TestValidateCleanMessage(t *testing.T) {
	m := fullMessage()
	m.Body.Commands[0].CmdID = "1"
	if got := Validate(m); got != nil {
		t.Errorf("Validate = %v, want nil", got)
	}
}

func TestValidateInteriorAddWithoutData(t *testing.T) {
	m := decodeCorpus(t, "018-moto-dm12-server-add-float-date-time-cred-basic.xml")
	for _, v := range Validate(m) {
		if strings.Contains(v.Rule, "must carry Data") {
			t.Errorf("Validate reported %v, want no Data rule for an interior-node Add", v)
		}
	}
}

func TestValidateCorpusStatusMessage(t *testing.T) {
	m := decodeCorpus(t, "022-moto-dm12-client-status-atomic-507-408-215.xml")
	if got := Validate(m); got != nil {
		t.Errorf("Validate = %v, want nil", got)
	}
}

func TestValidateViolations(t *testing.T) {
	tests := []struct {
		name   string
		change func(m *Message)
		want   []string
	}{
		{"missing header fields", func(m *Message) { m.Header = Header{} }, []string{
			"SyncHdr/VerDTD: missing", "SyncHdr/VerProto: missing", "SyncHdr/SessionID: missing",
			"SyncHdr/MsgID: missing", "SyncHdr/Target/LocURI: missing",
			"SyncHdr/Source/LocURI: missing",
		}},
		{"unknown VerProto", func(m *Message) { m.Header.VerProto = "DM/1.1" },
			[]string{`SyncHdr/VerProto: "DM/1.1" is not supported`}},
		{"DM 1.1 DTD", func(m *Message) { m.Header.VerDTD = "1.1" },
			[]string{`SyncHdr/VerDTD: "1.1" is not supported`}},
		{"empty Cred", func(m *Message) { m.Header.Cred.Data = "" },
			[]string{"SyncHdr/Cred/Data: missing"}},
		{"non-numeric MaxMsgSize", func(m *Message) { m.Header.Meta.MaxMsgSize = "20k" },
			[]string{`SyncHdr/Meta/MaxMsgSize: "20k" is not an unsigned decimal number`}},
		{"command without CmdID", func(m *Message) { m.Body.Commands[1].CmdID = "" },
			[]string{"SyncBody/Replace[1]/CmdID: missing"}},
		{"duplicate CmdID", func(m *Message) { m.Body.Commands[2].CmdID = "2" },
			[]string{`SyncBody/Sequence[1]/CmdID: "2" is already used by SyncBody/Replace[1]`}},
		{"bare Status", func(m *Message) { m.Body.Commands[0] = Command{Name: CmdStatus, CmdID: "1"} },
			[]string{"SyncBody/Status[1]/MsgRef: missing", "SyncBody/Status[1]/CmdRef: missing",
				"SyncBody/Status[1]/Cmd: missing", "SyncBody/Status[1]/Data: missing"}},
		{"non-numeric status", func(m *Message) { m.Body.Commands[0].Data = "OK" },
			[]string{`SyncBody/Status[1]/Data: "OK" is not a status code`}},
		{"non-numeric alert", func(m *Message) {
			m.Body.Commands = append(m.Body.Commands, Command{Name: CmdAlert, CmdID: "9", Data: "x"})
		}, []string{`SyncBody/Alert[1]/Data: "x" is not an alert code`}},
		{"generic alert without type", func(m *Message) {
			m.Body.Commands = append(m.Body.Commands, Command{Name: CmdAlert, CmdID: "9",
				Data: "1226", Items: []Item{{Data: NewData("1200")}}})
		}, []string{"SyncBody/Alert[1]/Item[1]/Meta/Type: missing"}},
		{"Get in Atomic", func(m *Message) {
			m.Body.Commands = append(m.Body.Commands, Command{Name: CmdAtomic, CmdID: "9",
				Commands: []Command{{Name: CmdGet, CmdID: "10", Items: []Item{
					{Target: &Locator{LocURI: "./a"}}}}}})
		}, []string{"SyncBody/Atomic[1]/Get[1]: Get is not allowed inside Atomic"}},
		{"Exec in Atomic", func(m *Message) {
			m.Body.Commands[2].Name = CmdAtomic
		}, []string{"SyncBody/Atomic[1]/Exec[1]: Exec is not allowed inside Atomic"}},
		{"Atomic in Atomic", func(m *Message) {
			m.Body.Commands = append(m.Body.Commands, Command{Name: CmdAtomic, CmdID: "9",
				Commands: []Command{{Name: CmdAtomic, CmdID: "10"}}})
		}, []string{"SyncBody/Atomic[1]/Atomic[1]: Atomic is not allowed inside Atomic",
			"SyncBody/Atomic[1]/Atomic[1]: Atomic holds no commands"}},
		{"Status in Sequence", func(m *Message) {
			m.Body.Commands[2].Commands[0] = NewStatus("1", "1", CmdGet, 200)
		}, []string{"SyncBody/Sequence[1]/Status[1]: Status is not allowed inside Sequence",
			"SyncBody/Sequence[1]/Status[1]/CmdID: missing"}},
		{"Format without Data", func(m *Message) { m.Body.Commands[1].Items[0].Data = nil },
			[]string{`SyncBody/Replace[1]/Item[1]/Data: missing (an Item with Meta Format "bool"`}},
		{"Exec without target", func(m *Message) {
			m.Body.Commands[2].Commands[0].Items[0].Target = nil
		}, []string{"SyncBody/Sequence[1]/Exec[1]/Item[1]/Target/LocURI: missing"}},
		{"Exec with two Items", func(m *Message) {
			exec := &m.Body.Commands[2].Commands[0]
			exec.Items = append(exec.Items, exec.Items[0])
		}, []string{"SyncBody/Sequence[1]/Exec[1]: Exec carries 2 Items, expected exactly 1"}},
		{"Replace without URIs", func(m *Message) { m.Body.Commands[1].Items[1].Target = nil },
			[]string{"SyncBody/Replace[1]/Item[2]/Target/LocURI: missing"}},
		{"Add without Items", func(m *Message) {
			m.Body.Commands = append(m.Body.Commands, Command{Name: CmdAdd, CmdID: "9"})
		}, []string{"SyncBody/Add[1]/Item: missing"}},
		{"Results without CmdRef", func(m *Message) {
			m.Body.Commands = append(m.Body.Commands, Command{Name: CmdResults, CmdID: "9",
				Items: []Item{{Source: &Locator{LocURI: "./a"}, Data: NewData("1")}}})
		}, []string{"SyncBody/Results[1]/CmdRef: missing"}},
		{"unknown command", func(m *Message) {
			m.Body.Commands = append(m.Body.Commands, Command{Name: "Sync", CmdID: "9"})
		}, []string{`SyncBody/Sync[1]: "Sync" is not an OMA DM 1.2 command`}},
		{"Chal without Meta", func(m *Message) { m.Body.Commands[0].Chal = &Chal{} },
			[]string{"SyncBody/Status[1]/Chal/Meta: missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fullMessage()
			m.Body.Commands[0].CmdID = "1"
			tt.change(m)

			got := Validate(m)
			if len(got) != len(tt.want) {
				t.Fatalf("Validate = %v, want %d violations %v", got, len(tt.want), tt.want)
			}
			for i, want := range tt.want {
				if !strings.HasPrefix(got[i].String(), want) {
					t.Errorf("violation %d = %q, want prefix %q", i, got[i], want)
				}
			}
		})
	}
}

func TestValidateNilMessage(t *testing.T) {
	if got := Validate(nil); len(got) != 1 {
		t.Errorf("Validate(nil) = %v, want one violation", got)
	}
}
