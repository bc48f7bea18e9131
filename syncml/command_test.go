package syncml

import (
	"strings"
	"testing"
)

func TestStatusCode(t *testing.T) {
	tests := []struct {
		data string
		want int
		ok   bool
	}{
		{"200", 200, true},
		{"407", 407, true},
		{"", 0, false},
		{"20x", 0, false},
		{"+200", 0, false},
		{"99", 0, false},
		{"1000", 0, false},
	}
	for _, tt := range tests {
		c := Command{Name: CmdStatus, Data: tt.data}
		got, err := c.StatusCode()
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("StatusCode(%q) = %d, %v; want %d, ok %v", tt.data, got, err, tt.want, tt.ok)
		}
	}
}

func TestAlertCode(t *testing.T) {
	if got, err := (Command{Name: CmdAlert, Data: "1226"}).AlertCode(); err != nil || got != 1226 {
		t.Errorf("AlertCode = %d, %v; want 1226", got, err)
	}
	if _, err := (Command{Name: CmdAlert, Data: "200"}).AlertCode(); err == nil {
		t.Error("AlertCode accepted a three-digit code")
	}
	if _, err := (Command{Name: CmdStatus, Data: "1226"}).AlertCode(); err == nil {
		t.Error("AlertCode accepted a Status")
	}
	if _, err := (Command{Name: CmdAlert, Data: "200"}).StatusCode(); err == nil {
		t.Error("StatusCode accepted an Alert")
	}
}

func TestNewStatusFields(t *testing.T) {
	s := NewStatus("2", "0", CmdSyncHdr, StatusAuthAccepted)
	want := Command{Name: CmdStatus, MsgRef: "2", CmdRef: "0", Cmd: CmdSyncHdr, Data: "212"}
	if !equalCommand(s, want) {
		t.Errorf("NewStatus = %+v, want %+v", s, want)
	}
	if code, err := s.StatusCode(); err != nil || code != 212 {
		t.Errorf("StatusCode = %d, %v", code, err)
	}
}

func TestCommandsIterator(t *testing.T) {
	m := fullMessage()
	var paths []string
	for path, c := range m.Commands() {
		paths = append(paths, path+"="+c.CmdID)
	}
	want := "SyncBody/Status[1]=|SyncBody/Replace[1]=2|SyncBody/Sequence[1]=3|" +
		"SyncBody/Sequence[1]/Exec[1]=4"
	if got := strings.Join(paths, "|"); got != want {
		t.Errorf("paths = %s, want %s", got, want)
	}

	n := 0
	for range m.Commands() {
		n++
		break
	}
	if n != 1 {
		t.Errorf("break after %d commands, want 1", n)
	}

	for _, c := range m.Commands() {
		if c.Name == CmdExec {
			c.Correlator = "changed"
		}
	}
	if got := m.Body.Commands[2].Commands[0].Correlator; got != "changed" {
		t.Errorf("Correlator = %q, want the update made through the iterator", got)
	}
}
