package syncml

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// message wraps a SyncBody content into a minimal DM 1.2 message.
func message(body string) []byte {
	return []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>` +
		`<VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>` +
		`<Target><LocURI>srv</LocURI></Target><Source><LocURI>dev</LocURI></Source>` +
		`</SyncHdr><SyncBody>` + body + `</SyncBody></SyncML>`)
}

func decodeCorpus(t *testing.T, name string) *Message {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir(t), "messages", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode %s: %v", name, err)
	}
	return m
}

func TestDecodeNamespaceVariants(t *testing.T) {
	tests := []struct {
		name string
		root string
	}{
		{"upper case", `<SyncML xmlns="SYNCML:SYNCML1.2">`},
		{"lower case DM 1.1", `<SyncML xmlns="syncml:syncml1.1">`},
		{"none", `<SyncML>`},
		{"single quotes", `<SyncML xmlns='SYNCML:SYNCML1.2'>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.root + `<SyncHdr><MsgID>7</MsgID></SyncHdr><SyncBody><Final/></SyncBody></SyncML>`
			m, err := Decode([]byte(data))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if m.Header.MsgID != "7" {
				t.Errorf("MsgID = %q, want 7", m.Header.MsgID)
			}
			if !m.Body.Final {
				t.Error("Final = false, want true")
			}
		})
	}
}

func TestDecodeTrimsIdentifiers(t *testing.T) {
	m, err := Decode(message(`<Get><CmdID> 3
		</CmdID><Item><Target><LocURI>
		./DevInfo/DevId </LocURI><LocName>	u </LocName></Target></Item></Get>`))
	if err != nil {
		t.Fatal(err)
	}
	get := m.Body.Commands[0]
	if get.CmdID != "3" {
		t.Errorf("CmdID = %q, want 3", get.CmdID)
	}
	if got := get.Items[0].Target.LocURI; got != "./DevInfo/DevId" {
		t.Errorf("LocURI = %q, want ./DevInfo/DevId", got)
	}
	if got := get.Items[0].Target.LocName; got != "u" {
		t.Errorf("LocName = %q, want u", got)
	}
}

func TestDecodeKeepsDataText(t *testing.T) {
	m, err := Decode(message(`<Replace><CmdID>1</CmdID>` +
		`<Item><Data> a &amp; b&#xD;
</Data></Item>` +
		`<Item><Data><![CDATA[<x>]]>tail<!-- note --></Data></Item>` +
		`<Item><Data/></Item><Item></Item></Replace>`))
	if err != nil {
		t.Fatal(err)
	}
	items := m.Body.Commands[0].Items
	if got := items[0].Data.Value; got != " a & b\r\n" {
		t.Errorf("Data 1 = %q, want %q", got, " a & b\r\n")
	}
	if got := items[1].Data.Value; got != "<x>tail" {
		t.Errorf("Data 2 = %q, want %q", got, "<x>tail")
	}
	if items[1].Data.XML {
		t.Error("CDATA Data has XML set")
	}
	if items[2].Data == nil || items[2].Data.Value != "" {
		t.Errorf("empty <Data/> = %+v, want non-nil with empty Value", items[2].Data)
	}
	if items[3].Data != nil {
		t.Errorf("absent Data = %+v, want nil", items[3].Data)
	}
}

func TestDecodeDataWithElements(t *testing.T) {
	m, err := Decode(message(`<Replace><CmdID>1</CmdID><Item><Data> <Enabled/>` +
		`<data id="a&amp;b"/></Data></Item></Replace>`))
	if err != nil {
		t.Fatal(err)
	}
	data := m.Body.Commands[0].Items[0].Data
	if !data.XML {
		t.Error("XML = false, want true")
	}
	if want := ` <Enabled/><data id="a&amp;b"/>`; data.Value != want {
		t.Errorf("Value = %q, want %q", data.Value, want)
	}
}

func TestDecodeTNDSInData(t *testing.T) {
	m := decodeCorpus(t, "011-libwbxml-ds12-sync-with-embedded-tnds.xml")
	sync := m.Body.Commands[3]
	if sync.Name != "Sync" {
		t.Fatalf("command 4 is %s, want Sync", sync.Name)
	}
	data := sync.Commands[2].Items[0].Data
	if !data.XML {
		t.Fatal("TNDS Data has XML = false")
	}
	if !strings.Contains(data.Value, `<MgmtTree xmlns="syncml:dmddf1.2">`) {
		t.Errorf("TNDS Data lost the MgmtTree element: %q", data.Value)
	}
}

func TestDecodeMetaOutsideMeta(t *testing.T) {
	m, err := Decode(message(`<Alert><CmdID>1</CmdID><Data>1224</Data><Item><Meta></Meta>` +
		`<Type xmlns="syncml:metinf">com.microsoft/MDM/DevicePrepSync</Type>` +
		`<Data>PendingProvisioning</Data></Item></Alert>`))
	if err != nil {
		t.Fatal(err)
	}
	meta := m.Body.Commands[0].Items[0].Meta
	if meta == nil || meta.Type != "com.microsoft/MDM/DevicePrepSync" {
		t.Errorf("Meta = %+v, want Type com.microsoft/MDM/DevicePrepSync", meta)
	}
}

func TestDecodeSpecPackageOne(t *testing.T) {
	m := decodeCorpus(t, "001-spec-client-pkg1-alert1200-devinfo.xml")
	if m.Header.Cred == nil || m.Header.Cred.Meta.Type != AuthBasic {
		t.Fatalf("Cred = %+v, want Meta Type %s", m.Header.Cred, AuthBasic)
	}
	if m.Header.Meta.MaxMsgSize != "5000" {
		t.Errorf("MaxMsgSize = %q, want 5000", m.Header.Meta.MaxMsgSize)
	}
	replace := m.Body.Commands[1]
	if replace.Name != CmdReplace || len(replace.Items) != 5 {
		t.Fatalf("command 2 = %s with %d Items, want Replace with 5", replace.Name, len(replace.Items))
	}
	if got := replace.Items[1].Data.Value; got != "Device Factory, Inc." {
		t.Errorf("Man = %q", got)
	}
}

func TestDecodeStatusOutOfOrder(t *testing.T) {
	m := decodeCorpus(t, "002-spec-server-pkg2-sequence-alert1101-replace.xml")
	status := m.Body.Commands[0]
	want := Command{
		Name: CmdStatus, CmdID: "6", MsgRef: "1", CmdRef: "0", Cmd: CmdSyncHdr,
		TargetRefs: []string{"http://www.syncml.org/mgmt-server"},
		SourceRefs: []string{"IMEI:493005100592800"},
		Data:       "212",
	}
	if !equalCommand(status, want) {
		t.Errorf("Status = %+v, want %+v", status, want)
	}
	seq := m.Body.Commands[3]
	if seq.Name != CmdSequence || len(seq.Commands) != 2 {
		t.Fatalf("command 4 = %s with %d children, want Sequence with 2", seq.Name, len(seq.Commands))
	}
	replaceMeta := seq.Commands[1].Meta
	if replaceMeta.Type != "application/vnd.wap.connectivity-wbxml" {
		t.Errorf("wrapped Type = %q", replaceMeta.Type)
	}
}

func TestDecodeCDATAEverywhere(t *testing.T) {
	m := decodeCorpus(t, "029-fumo-client-pkg1-cdata-everywhere-alert1226.xml")
	if m.Header.SessionID != "0.5135936907591349" {
		t.Errorf("SessionID = %q", m.Header.SessionID)
	}
	if m.Header.Source.LocName != "dmuser1" {
		t.Errorf("LocName = %q", m.Header.Source.LocName)
	}
	if m.Header.Cred.Meta.Type != AuthMD5 {
		t.Errorf("Cred Type = %q", m.Header.Cred.Meta.Type)
	}
	if m.Header.Meta.MaxObjSize != "100000" {
		t.Errorf("MaxObjSize = %q", m.Header.Meta.MaxObjSize)
	}
}

func TestDecodeDM11Message(t *testing.T) {
	m := decodeCorpus(t, "010-libwbxml-dm11-bootstrap-add-dmacc-no-namespace.xml")
	if m.Header.VerDTD != "1.1" || m.Header.VerProto != "DM/1.1" {
		t.Errorf("VerDTD, VerProto = %q, %q", m.Header.VerDTD, m.Header.VerProto)
	}
	if m.Header.SessionID != "0" {
		t.Errorf("SessionID = %q, want 0", m.Header.SessionID)
	}
	add := m.Body.Commands[0]
	if got := add.Items[0].Target.LocURI; got != "./SyncML/DMAcc/UltimateManagement" {
		t.Errorf("padded LocURI = %q", got)
	}
	if add.Items[2].Data != nil {
		t.Error("Item without Data decoded with Data")
	}
}

func TestDecodeUnknownCommandKept(t *testing.T) {
	m, err := Decode(message(`<Put><CmdID>4</CmdID><Item><Data>x</Data></Item></Put><Final/>`))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Body.Commands[0]; got.Name != "Put" || got.CmdID != "4" {
		t.Errorf("command = %+v, want Put with CmdID 4", got)
	}
}

func TestDecodeErrorNamesPath(t *testing.T) {
	_, err := Decode(message(`<Replace><CmdID>1</CmdID></Replace>` +
		`<Replace><CmdID>2</CmdID><Item><Data>a & b</Data></Item></Replace>`))
	if err == nil {
		t.Fatal("Decode accepted a bare &")
	}
	if want := "decode SyncBody/Replace[2]/Item[1]/Data: line 1"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want prefix %q", err, want)
	}
}

func TestDecodeBadInput(t *testing.T) {
	deep := strings.Repeat("<Atomic><CmdID>1</CmdID>", maxCommandDepth+1) +
		strings.Repeat("</Atomic>", maxCommandDepth+1)
	deepXML := strings.Repeat("<a>", maxElementDepth+1) + strings.Repeat("</a>", maxElementDepth+1)
	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"empty", nil, "no root element"},
		{"whitespace only", []byte(" \n "), "no root element"},
		{"truncated", message("")[:60], "line 1"},
		{"wrong root", []byte(`<Alert><CmdID>1</CmdID></Alert>`), "root element is <Alert>"},
		{"foreign namespace", []byte(`<SyncML xmlns="urn:other"/>`), "not a SyncML namespace"},
		{"huge", append(message(""), make([]byte, DefaultMaxMessageSize)...), "byte limit"},
		{"deep commands", message(deep), "commands nested deeper than 8"},
		{"deep elements", message(`<Replace><Item><Data>` + deepXML + `</Data></Item></Replace>`),
			"nested deeper than 128"},
		{"bad CDATA", message(`<Alert><Data><![CDATA[1200</Data></Alert>`), "line 1"},
		{"entity declaration", []byte(`<!DOCTYPE SyncML [<!ENTITY x "boom">]><SyncML>&x;</SyncML>`),
			"internal subset"},
		{"undefined entity", message(`<Alert><Data>&x;</Data></Alert>`), "invalid character entity"},
		{"external entity", []byte(`<!DOCTYPE SyncML [<!ENTITY x SYSTEM "file:///etc/passwd">]>` +
			`<SyncML>&x;</SyncML>`), "internal subset"},
		{"non UTF-8 byte", message("<Alert><Data>\xff</Data></Alert>"), "not valid UTF-8"},
		{"latin-1 declared", []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><SyncML/>`),
			"ISO-8859-1"},
		{"mismatched tags", message(`<Alert></Get>`), "line 1"},
		{"two roots", []byte(`<SyncML/><SyncML/>`), "second root element"},
		{"text after root", []byte(`<SyncML/>junk`), "text outside the root element"},
		{"late DOCTYPE", message(`<!DOCTYPE x>`), "declaration after the root"},
		{"bare ampersand", message(`<Alert><Data>MAXDT=15&DR=1</Data></Alert>`), "&amp;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.input)
			if err == nil {
				t.Fatalf("Decode returned %+v, want an error", m)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if m != nil {
				t.Error("Decode returned a message with its error")
			}
		})
	}
}

func TestDecodeAcceptsExternalDOCTYPE(t *testing.T) {
	data := `<?xml version="1.0"?><!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.2//EN" ` +
		`"http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_RepPro_DTD-V1_2.dtd">` +
		"\xef\xbb\xbf<SyncML><SyncBody><Final/></SyncBody></SyncML>"
	if _, err := Decode([]byte(data)); err == nil {
		t.Fatal("Decode accepted a byte order mark inside the document")
	}
	if _, err := Decode([]byte(strings.Replace(data, "\xef\xbb\xbf", "", 1))); err != nil {
		t.Errorf("Decode with an external DOCTYPE: %v", err)
	}
	if _, err := Decode([]byte("\xef\xbb\xbf<SyncML/>")); err != nil {
		t.Errorf("Decode with a leading byte order mark: %v", err)
	}
}

func equalCommand(a, b Command) bool {
	return a.Name == b.Name && a.CmdID == b.CmdID && a.MsgRef == b.MsgRef &&
		a.CmdRef == b.CmdRef && a.Cmd == b.Cmd && a.Data == b.Data &&
		strings.Join(a.TargetRefs, "|") == strings.Join(b.TargetRefs, "|") &&
		strings.Join(a.SourceRefs, "|") == strings.Join(b.SourceRefs, "|")
}
