package syncml

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/virmo/virmo/internal/corpus"
)

// corpusDir returns the directory of real public OMA DM messages that the
// tests decode.
func corpusDir(t testing.TB) string { return corpus.Dir(t) }

// corpusFiles returns the files of one corpus folder. WBXML files are left
// out: this package decodes XML only.
func corpusFiles(t testing.TB, folder string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir(t), folder, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, p := range paths {
		switch filepath.Ext(p) {
		case ".xml":
			files = append(files, p)
		case ".wbxml":
			// WBXML belongs to the wbxml package.
		default:
			t.Fatalf("unexpected corpus file %s", p)
		}
	}
	if len(files) == 0 {
		t.Fatalf("no XML files in %s", folder)
	}
	return files
}

// malformedMessages lists corpus messages that are not well-formed XML: each
// holds a bare "&" in an Item's Data. Decode rejects them (ADR 0010).
var malformedMessages = map[string]int{
	"013-moto-dm12-server-alert1101-bare-ampersand.xml":             24,
	"015-moto-dm12-server-alert1104-multichoice-bare-ampersand.xml": 22,
}

func TestDecodeCorpusMessages(t *testing.T) {
	for _, path := range corpusFiles(t, "messages") {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(data)

			if line, bad := malformedMessages[name]; bad {
				if err == nil {
					t.Fatal("Decode accepted a message with a bare &")
				}
				want := "SyncBody/Alert[1]/Item[1]/Data: line " + strconv.Itoa(line)
				if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "&amp;") {
					t.Errorf("error = %q, want it to contain %q and the fix", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if m.Header.MsgID == "" {
				t.Error("MsgID is empty")
			}
			if len(m.Body.Commands) == 0 {
				t.Error("body has no commands")
			}
		})
	}
}

func TestCorpusMessagesRoundTrip(t *testing.T) {
	for _, path := range corpusFiles(t, "messages") {
		name := filepath.Base(path)
		if _, bad := malformedMessages[name]; bad {
			continue
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			first, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			assertRoundTrip(t, first)
		})
	}
}

// assertRoundTrip checks that m encodes and decodes back to an equal model.
func assertRoundTrip(t *testing.T, m *Message) {
	t.Helper()
	out, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	again, err := Decode(out)
	if err != nil {
		t.Fatalf("Decode of encoded message: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(normalize(m), normalize(again)) {
		t.Errorf("round trip changed the model\nbefore: %+v\nafter:  %+v\nXML: %s", m, again, out)
	}
}

// normalize turns empty slices into nil, the one difference that Encode and
// Decode may introduce without changing the message.
func normalize(m *Message) *Message {
	c := *m
	c.Body.Commands = normalizeCommands(m.Body.Commands)
	return &c
}

func normalizeCommands(cmds []Command) []Command {
	if len(cmds) == 0 {
		return nil
	}
	out := make([]Command, len(cmds))
	for i, c := range cmds {
		if len(c.TargetRefs) == 0 {
			c.TargetRefs = nil
		}
		if len(c.SourceRefs) == 0 {
			c.SourceRefs = nil
		}
		if len(c.Items) == 0 {
			c.Items = nil
		}
		c.Commands = normalizeCommands(c.Commands)
		out[i] = c
	}
	return out
}

// fragmentCommands covers every corpus fragment: complete SyncML documents decode
// as they are; a SyncBody or a single command decodes once wrapped into a
// message. The value is the number of top-level commands expected.
var fragmentCommands = map[string]int{
	"001-spec-alert-1102-text-input-empty-item.xml":                      1,
	"002-spec-status-alert-1104-two-selected-items.xml":                  1,
	"003-spec-alert-1226-generic-correlator-mark-critical.xml":           1,
	"004-spec-status-synchdr-chal-md5-401-no-cmdid.xml":                  1,
	"005-spec-add-large-object-moredata-size.xml":                        1,
	"006-spec-copy-target-without-locuri.xml":                            1,
	"007-spec-get-list-structdata.xml":                                   1,
	"008-spec-results-list-structdata.xml":                               1,
	"009-spec-results-interior-node-child-list.xml":                      1,
	"010-spec-add-tnds-mgmttree-in-data.xml":                             1,
	"011-spec-syncml-replace-cdata-xmldsig-elided-header.xml":            1,
	"012-spec-client-md5-cred-locname-elided-body.xml":                   0,
	"013-msdocs-remotelock-sequence-exec-get-trailing-space-uri.xml":     1,
	"014-msdocs-syncbody-alert-1224-aadusertoken-ns-trailing-space.xml":  1,
	"015-msdocs-admx-syncml-without-synchdr-cdata-payload.xml":           1,
	"016-msdocs-admx-syncml-without-synchdr-element-in-data.xml":         1,
	"017-msmdm-syncbody-alert-1224-deviceprepsync-type-outside-meta.xml": 1,
	"018-msmdm-syncbody-atomic-wmi-replace-wrapped-locuri.xml":           1,
	"019-spec-alert-1103-single-choice-mindt.xml":                        1,
}

func TestDecodeCorpusFragments(t *testing.T) {
	for _, path := range corpusFiles(t, "fragments") {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			want, known := fragmentCommands[name]
			if !known {
				t.Fatalf("fragment %s has no expectation", name)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			m, err := Decode(data)
			root := rootName(data)
			if root != "SyncML" {
				if err == nil || !strings.Contains(err.Error(), "expected <SyncML>") {
					t.Fatalf("Decode of a <%s> fragment: err = %v, want a wrong-root error", root, err)
				}
				m, err = Decode(wrapFragment(root, data))
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := len(m.Body.Commands); got != want {
				t.Errorf("got %d commands, want %d", got, want)
			}
			assertRoundTrip(t, m)
		})
	}
}

// rootName returns the name of the first element in data.
func rootName(data []byte) string {
	s := string(data)
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			return ""
		}
		s = s[i+1:]
		if s != "" && s[0] != '?' && s[0] != '!' {
			end := strings.IndexAny(s, " \t\r\n/>")
			return s[:end]
		}
	}
}

// wrapFragment embeds a SyncBody or a command into a SyncML message,
// dropping any XML declaration.
func wrapFragment(root string, data []byte) []byte {
	s := strings.TrimSpace(string(data))
	if strings.HasPrefix(s, "<?xml") {
		s = s[strings.Index(s, "?>")+2:]
	}
	if root != "SyncBody" {
		s = "<SyncBody>" + s + "</SyncBody>"
	}
	return []byte("<SyncML>" + s + "</SyncML>")
}
