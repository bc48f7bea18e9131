package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virmo/virmo/internal/corpus"
	"github.com/virmo/virmo/syncml"
	"github.com/virmo/virmo/wbxml"
)

func corpusMessage(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(corpus.Dir(t), "messages", name)
}

func TestSyncMLDecodeCommand(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"001-spec-client-pkg1-alert1200-devinfo.xml", "<LocURI>./DevInfo/Man</LocURI>"},
		{"025-moto-dm12-server-get-maxdepth.wbxml", "<LocURI>./DevDetail/URI/MaxDepth</LocURI>"},
		{"026-moto-dm12-client-pkg1-alert1201-replace-devinfo.wbxml", "<Replace>"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			out, err := runRoot(t, nil, "syncml", "decode", corpusMessage(t, tt.file))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			if !strings.Contains(out, "\n  <SyncHdr>\n") {
				t.Errorf("output is not indented:\n%s", out)
			}
			if _, err := syncml.Decode([]byte(out)); err != nil {
				t.Errorf("output does not decode as SyncML: %v", err)
			}
		})
	}
}

func TestSyncMLDecodeStdin(t *testing.T) {
	data, err := os.ReadFile(corpusMessage(t, "017-moto-dm12-server-get-devid.xml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := runRoot(t, data, "syncml", "decode", "-")
	if err != nil {
		t.Fatalf("decode -: %v", err)
	}
	if !strings.Contains(out, "DevId") {
		t.Errorf("output lacks DevId:\n%s", out)
	}
}

func TestSyncMLDecodeRejectsGarbage(t *testing.T) {
	if _, err := runRoot(t, []byte("<SyncML><SyncHdr>"), "syncml", "decode", "-"); err == nil {
		t.Error("decode of a truncated message succeeded")
	}
	if _, err := runRoot(t, nil, "syncml", "decode", "/nonexistent/message.xml"); err == nil {
		t.Error("decode of a missing file succeeded")
	}
}

func TestSyncMLEncodeRoundTrip(t *testing.T) {
	src := corpusMessage(t, "001-spec-client-pkg1-alert1200-devinfo.xml")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	want, err := syncml.Decode(data)
	if err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "msg.wbxml")
	if _, err := runRoot(t, nil, "syncml", "encode", "--format", "wbxml", "-o", bin, src); err != nil {
		t.Fatalf("encode to wbxml: %v", err)
	}
	encoded, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !wbxml.IsWBXML(encoded) {
		t.Fatalf("output file is not WBXML: % x", encoded[:min(8, len(encoded))])
	}

	out, err := runRoot(t, nil, "syncml", "encode", "--format", "xml", bin)
	if err != nil {
		t.Fatalf("encode back to xml: %v", err)
	}
	got, err := syncml.Decode([]byte(out))
	if err != nil {
		t.Fatalf("decode the xml output: %v", err)
	}
	wantXML, _ := syncml.Encode(want)
	gotXML, _ := syncml.Encode(got)
	if !bytes.Equal(wantXML, gotXML) {
		t.Errorf("xml → wbxml → xml changed the message:\n%s\n%s", wantXML, gotXML)
	}
}

func TestSyncMLEncodeRejectsFormat(t *testing.T) {
	src := corpusMessage(t, "001-spec-client-pkg1-alert1200-devinfo.xml")
	_, err := runRoot(t, nil, "syncml", "encode", "--format", "json", src)
	if err == nil || !strings.Contains(err.Error(), "use wbxml or xml") {
		t.Errorf("error = %v, want one naming the formats", err)
	}
}

func TestSyncMLValidateCommand(t *testing.T) {
	valid := corpusMessage(t, "017-moto-dm12-server-get-devid.xml")
	if out, err := runRoot(t, nil, "syncml", "validate", valid); err != nil {
		t.Errorf("validate %s: %v\n%s", filepath.Base(valid), err, out)
	}

	bad := []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.1</VerDTD>` +
		`<VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>` +
		`<Target><LocURI>a</LocURI></Target><Source><LocURI>b</LocURI></Source></SyncHdr>` +
		`<SyncBody><Get><CmdID>1</CmdID></Get><Final/></SyncBody></SyncML>`)
	out, err := runRoot(t, bad, "syncml", "validate", "-")
	var exit *exitError
	if !errors.As(err, &exit) || exit.code != 1 {
		t.Fatalf("validate error = %v, want exit status 1", err)
	}
	if lines := strings.Count(out, "\n"); lines < 2 {
		t.Errorf("validate printed %d violations, want at least 2:\n%s", lines, out)
	}
	if !strings.Contains(out, "VerDTD") {
		t.Errorf("violations do not mention VerDTD:\n%s", out)
	}
}

func TestSyncMLFileArgumentErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"syncml", "decode"}, "name a FILE, or - for standard input"},
		{[]string{"syncml", "validate"}, "name a FILE, or - for standard input"},
		{[]string{"syncml", "encode", "a", "b"}, "name one FILE, not 2"},
		{[]string{"syncml", "decode", os.TempDir()}, os.TempDir() + " is a directory"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := runRoot(t, nil, tt.args...)
			if err == nil {
				t.Fatal("command succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

func TestCountViolations(t *testing.T) {
	tests := map[int]string{1: "1 violation", 2: "2 violations", 0: "0 violations"}
	for n, want := range tests {
		if got := countViolations(n); got != want {
			t.Errorf("countViolations(%d) = %q, want %q", n, got, want)
		}
	}
}
