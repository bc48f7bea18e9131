package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virmo/virmo/internal/corpus"
	"github.com/virmo/virmo/syncml"
	"github.com/virmo/virmo/wbxml"
)

// wbxmlCorpus returns the XML files of the message corpus that
// syncml.Decode and wbxml.EncodeSyncML accept, with their WBXML encodings
// and the total WBXML size, and logs the files it leaves out.
func wbxmlCorpus(b *testing.B) (xmlFiles, wbxmlFiles [][]byte, size int64) {
	b.Helper()
	dir := filepath.Join(corpus.Dir(b), "messages")
	paths, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("no XML files in %s: %v", dir, err)
	}
	var left []string
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		m, err := syncml.Decode(raw)
		if err != nil {
			left = append(left, filepath.Base(path))
			continue
		}
		encoded, err := wbxml.EncodeSyncML(m)
		if err != nil {
			left = append(left, filepath.Base(path))
			continue
		}
		xmlFiles = append(xmlFiles, raw)
		wbxmlFiles = append(wbxmlFiles, encoded)
		size += int64(len(encoded))
	}
	b.Logf("%d files, %d WBXML bytes; left out: %s", len(xmlFiles), size, strings.Join(left, " "))
	return xmlFiles, wbxmlFiles, size
}

// BenchmarkXMLToWBXML converts every corpus XML file to WBXML once per
// operation (syncml.Decode, then wbxml.EncodeSyncML), the work xml2wbxml
// does in bench/libwbxml.sh. MB/s counts WBXML bytes written.
func BenchmarkXMLToWBXML(b *testing.B) {
	xmlFiles, _, size := wbxmlCorpus(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range xmlFiles {
			m, err := syncml.Decode(raw)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := wbxml.EncodeSyncML(m); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkWBXMLToXML converts the WBXML encoding of every corpus XML file
// back to XML once per operation (wbxml.DecodeSyncML, then syncml.Encode),
// the work wbxml2xml does in bench/libwbxml.sh. MB/s counts WBXML bytes
// read.
func BenchmarkWBXMLToXML(b *testing.B) {
	_, wbxmlFiles, size := wbxmlCorpus(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, in := range wbxmlFiles {
			m, err := wbxml.DecodeSyncML(in)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := syncml.Encode(m); err != nil {
				b.Fatal(err)
			}
		}
	}
}
