package wbxml

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virmo/virmo/internal/corpus"
	"github.com/virmo/virmo/syncml"
)

// corpusFiles returns the message corpus files whose names end in ext,
// keyed by file name.
func corpusFiles(t testing.TB, ext string) map[string][]byte {
	t.Helper()
	dir := filepath.Join(corpus.Dir(t), "messages")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read corpus: %v", err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ext) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatalf("read %s: %v", e.Name(), err)
		}
		files[e.Name()] = b
	}
	if len(files) == 0 {
		t.Fatalf("no %s files in %s", ext, dir)
	}
	return files
}

// xmlCorpus returns the XML corpus messages that syncml.Decode accepts,
// decoded, keyed by file name.
func xmlCorpus(t testing.TB) map[string]*syncml.Message {
	t.Helper()
	out := map[string]*syncml.Message{}
	for name, b := range corpusFiles(t, ".xml") {
		m, err := syncml.Decode(b)
		if err != nil {
			continue
		}
		out[name] = m
	}
	return out
}
