package syncml

import (
	"strings"
	"testing"
)

func fullMessage() *Message {
	return &Message{
		Header: Header{
			VerDTD: VerDTD12, VerProto: VerProtoDM12, SessionID: "0", MsgID: "0",
			Target:  Locator{LocURI: "https://dm.example.com/dm"},
			Source:  Locator{LocURI: "IMEI:493005100592800", LocName: "dev1"},
			RespURI: "https://dm.example.com/dm?s=1&m=2",
			Cred: &Cred{
				Meta: &Meta{Type: AuthMD5, Format: "b64"},
				Data: "Zz6EivR3yeaaENcRN6lpAQ==",
			},
			Meta: &Meta{MaxMsgSize: "20000", MaxObjSize: "0"},
		},
		Body: Body{
			Commands: []Command{
				NewStatus("1", "0", CmdSyncHdr, StatusMissingCredentials),
				{Name: CmdReplace, CmdID: "2", Items: []Item{{
					Target: &Locator{LocURI: "./VirMO/vm1/LockParams/UserUnlock"},
					Meta:   &Meta{Format: "bool"},
					Data:   NewData("false"),
				}, {
					Target: &Locator{LocURI: "./VirMO/vm1/Name"},
					Data:   NewData(""),
				}}},
				{Name: CmdSequence, CmdID: "3", Commands: []Command{
					{Name: CmdExec, CmdID: "4", Correlator: "c7", Items: []Item{{
						Target: &Locator{LocURI: "./VirMO/vm1/Operations/Lock"},
					}}},
				}},
			},
			Final: true,
		},
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	m := fullMessage()
	m.Body.Commands[0].CmdID = "1"
	m.Body.Commands[0].Chal = &Chal{Meta: &Meta{Type: AuthMD5, Format: "b64", NextNonce: "AAAA"}}
	assertRoundTrip(t, m)
}

func TestEncodeWritesRootAndMetInf(t *testing.T) {
	out, err := Encode(fullMessage())
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		`<SyncML xmlns="SYNCML:SYNCML1.2">`,
		`<Format xmlns="syncml:metinf">bool</Format>`,
		`<MaxObjSize xmlns="syncml:metinf">0</MaxObjSize>`,
		`<SessionID>0</SessionID>`,
		`<Data>false</Data>`,
		`<Data></Data>`,
		`<RespURI>https://dm.example.com/dm?s=1&amp;m=2</RespURI>`,
		`<Status><CmdID></CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>407</Data></Status>`,
		`<Exec><CmdID>4</CmdID><Correlator>c7</Correlator><Item>`,
		`<Final/></SyncBody></SyncML>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s\n%s", want, s)
		}
	}
}

func TestEncodeDTDOrder(t *testing.T) {
	m := &Message{Body: Body{Commands: []Command{{
		Name: CmdResults, CmdID: "5", MsgRef: "1", CmdRef: "4", Cmd: CmdGet,
		Meta:       &Meta{Format: "chr"},
		TargetRefs: []string{""}, SourceRefs: []string{"./a"},
		Items: []Item{{Source: &Locator{LocURI: "./a"}, Meta: &Meta{Type: "text/plain"},
			Data: NewData("v"), MoreData: true}},
	}}}}
	out, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	order := []string{"<CmdID>", "<MsgRef>", "<CmdRef>", "<Cmd>", "<Meta>", "<TargetRef></TargetRef>",
		"<SourceRef>", "<Item><Source>", `<Type xmlns="syncml:metinf">`, "<Data>v</Data>", "<MoreData/>"}
	s := string(out)
	last := -1
	for _, tag := range order {
		i := strings.Index(s, tag)
		if i <= last {
			t.Fatalf("%s is missing or out of DTD order in %s", tag, s)
		}
		last = i
	}
}

func TestEncodeDataForms(t *testing.T) {
	tests := []struct {
		name string
		data Data
		want string
	}{
		{"escaped text", Data{Value: "a<b>&c]]>\r"}, "<Data>a&lt;b&gt;&amp;c]]&gt;&#xD;</Data>"},
		{"raw XML", Data{Value: `<MgmtTree xmlns="syncml:dmddf1.2"/>`, XML: true},
			`<Data><MgmtTree xmlns="syncml:dmddf1.2"/></Data>`},
		{"opaque as base64", Data{Value: "\x00\x01\xff", Opaque: true}, "<Data>AAH/</Data>"},
		{"empty", Data{}, "<Data></Data>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			m := &Message{Body: Body{Commands: []Command{{Name: CmdAdd, Items: []Item{{Data: &data}}}}}}
			out, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output lacks %s\n%s", tt.want, out)
			}
		})
	}
}

func TestEncodeBadInput(t *testing.T) {
	item := func(d Data) []Command {
		return []Command{{Name: CmdAdd, Items: []Item{{Data: &d}}}}
	}
	tests := []struct {
		name string
		msg  *Message
		want string
	}{
		{"nil message", nil, "message is nil"},
		{"NUL in text", &Message{Body: Body{Commands: item(Data{Value: "a\x00"})}},
			"encode SyncBody/Add[1]/Item[1]/Data: value contains U+0000"},
		{"invalid UTF-8", &Message{Header: Header{SessionID: "\xff"}},
			"encode SyncHdr/SessionID: value is not valid UTF-8"},
		{"malformed XML data", &Message{Body: Body{Commands: item(Data{Value: "<a>", XML: true})}},
			"XML value is not well-formed"},
		{"XML data closing Data", &Message{Body: Body{Commands: item(Data{Value: "</Data><x>", XML: true})}},
			"not well-formed"},
		{"bad command name", &Message{Body: Body{Commands: []Command{{Name: "Bad Name"}}}},
			"not an XML element name"},
		{"empty command name", &Message{Body: Body{Commands: []Command{{}}}},
			"not an XML element name"},
		{"command named Final", &Message{Body: Body{Commands: []Command{{Name: "Final"}}}},
			"named Final"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Encode(tt.msg)
			if err == nil {
				t.Fatalf("Encode returned %s, want an error", out)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}
