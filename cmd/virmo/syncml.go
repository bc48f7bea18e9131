package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/virmo/virmo/syncml"
	"github.com/virmo/virmo/wbxml"
)

// maxMessageBytes bounds the SyncML message the syncml commands read.
const maxMessageBytes = 64 << 20

func newSyncMLCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "syncml",
		Short: "Decode, convert and validate SyncML DM messages",
		Long: `Work with SyncML DM messages in XML or WBXML. FILE is a path, or - for
standard input; WBXML input is recognised by its first bytes.`,
	}
	cmd.AddCommand(newSyncMLDecodeCommand(), newSyncMLEncodeCommand(), newSyncMLValidateCommand())
	return cmd
}

func newSyncMLDecodeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "decode FILE",
		Short: "Print a SyncML message as indented XML",
		Args:  fileArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := readMessage(cmd, args[0])
			if err != nil {
				return err
			}
			out, err := syncml.Encode(m)
			if err != nil {
				return fmt.Errorf("encode %s as XML: %w", args[0], err)
			}
			indented, err := indentXML(out)
			if err != nil {
				return fmt.Errorf("indent %s: %w", args[0], err)
			}
			_, err = cmd.OutOrStdout().Write(indented)
			return err
		},
	}
}

func newSyncMLEncodeCommand() *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "encode FILE",
		Short: "Convert a SyncML message to WBXML or XML",
		Long: `Convert a SyncML message (XML or WBXML) to the format --format names:
wbxml (binary, WBXML 1.2 with public identifier 0x1201) or xml (compact
XML). The result goes to standard output unless -o names a file.`,
		Args: fileArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			var encode func(*syncml.Message) ([]byte, error)
			switch format {
			case "wbxml":
				encode = wbxml.EncodeSyncML
			case "xml":
				encode = syncml.Encode
			default:
				return fmt.Errorf("--format %q: use wbxml or xml", format)
			}
			m, err := readMessage(cmd, args[0])
			if err != nil {
				return err
			}
			out, err := encode(m)
			if err != nil {
				return fmt.Errorf("encode %s as %s: %w", args[0], format, err)
			}
			if output == "" {
				_, err = cmd.OutOrStdout().Write(out)
				return err
			}
			return os.WriteFile(output, out, 0o644)
		},
	}
	cmd.Flags().StringVar(&format, "format", "wbxml", "output format: wbxml or xml")
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write instead of standard output")
	return cmd
}

func newSyncMLValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "List the OMA DM 1.2 rules a SyncML message breaks",
		Long: `Decode a SyncML message leniently, then check it strictly and print one
line per violation ("path: rule"). Exit status: 0 when there is none,
1 when there are violations or the message cannot be decoded.`,
		Args: fileArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := readMessage(cmd, args[0])
			if err != nil {
				return err
			}
			violations := syncml.Validate(m)
			for _, v := range violations {
				fmt.Fprintln(cmd.OutOrStdout(), v.String())
			}
			if len(violations) > 0 {
				return &exitError{code: 1,
					msg: fmt.Sprintf("%s: %s", args[0], countViolations(len(violations)))}
			}
			return nil
		},
	}
}

// countViolations returns "1 violation" or "N violations".
func countViolations(n int) string {
	if n == 1 {
		return "1 violation"
	}
	return fmt.Sprintf("%d violations", n)
}

// fileArg accepts exactly one FILE argument. Its error for a missing one
// names what to pass.
func fileArg(_ *cobra.Command, args []string) error {
	switch {
	case len(args) == 0:
		return errors.New("name a FILE, or - for standard input")
	case len(args) > 1:
		return fmt.Errorf("name one FILE, not %d", len(args))
	}
	return nil
}

// readMessage reads FILE (or standard input for "-") and decodes it as
// WBXML or XML, whichever its first bytes show.
func readMessage(cmd *cobra.Command, name string) (*syncml.Message, error) {
	var r io.Reader
	if name == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if info, err := f.Stat(); err == nil && info.IsDir() {
			return nil, fmt.Errorf("%s is a directory: name a SyncML message file", name)
		}
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxMessageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxMessageBytes {
		return nil, fmt.Errorf("read %s: message is over %d bytes", name, maxMessageBytes)
	}

	var m *syncml.Message
	if wbxml.IsWBXML(data) {
		m, err = wbxml.DecodeSyncML(data)
	} else {
		m, err = syncml.Decode(data)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	return m, nil
}

// xmlElement is one element of a document being indented.
type xmlElement struct {
	start    xml.StartElement
	text     []byte
	children []*xmlElement
	parent   *xmlElement
}

// indentXML rewrites a well-formed XML document with one element per line,
// two spaces per level. An element holding only text keeps it on its line,
// byte for byte once escaped again; whitespace-only text between elements
// is dropped. Comments and processing instructions other than the XML
// declaration are dropped too.
func indentXML(data []byte) ([]byte, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := &xmlElement{}
	cur := root
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &xmlElement{start: tok.Copy(), parent: cur}
			cur.children = append(cur.children, e)
			cur = e
		case xml.EndElement:
			if cur.parent == nil {
				return nil, fmt.Errorf("unexpected end element %s", tok.Name.Local)
			}
			cur = cur.parent
		case xml.CharData:
			cur.text = append(cur.text, tok...)
		}
	}

	var b bytes.Buffer
	b.WriteString(xml.Header)
	for _, e := range root.children {
		writeIndented(&b, e, 0)
	}
	return b.Bytes(), nil
}

func writeIndented(b *bytes.Buffer, e *xmlElement, depth int) {
	indent := strings.Repeat("  ", depth)
	b.WriteString(indent + "<" + qualifiedName(e.start.Name))
	for _, a := range e.start.Attr {
		b.WriteString(" " + qualifiedName(a.Name) + `="`)
		_ = xml.EscapeText(b, []byte(a.Value))
		b.WriteString(`"`)
	}

	text := e.text
	if len(e.children) > 0 && len(bytes.TrimSpace(text)) == 0 {
		text = nil
	}
	switch {
	case len(e.children) == 0 && len(text) == 0:
		b.WriteString("/>\n")
		return
	case len(e.children) == 0:
		b.WriteString(">")
		_ = xml.EscapeText(b, text)
		b.WriteString("</" + qualifiedName(e.start.Name) + ">\n")
		return
	}
	b.WriteString(">\n")
	if len(text) > 0 {
		b.WriteString(indent + "  ")
		_ = xml.EscapeText(b, bytes.TrimSpace(text))
		b.WriteString("\n")
	}
	for _, c := range e.children {
		writeIndented(b, c, depth+1)
	}
	b.WriteString(indent + "</" + qualifiedName(e.start.Name) + ">\n")
}

func qualifiedName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}
