package wbxml

import (
	"testing"

	"github.com/virmo/virmo/syncml"
)

// benchCorpus returns the XML corpus messages that EncodeSyncML accepts,
// with their WBXML encodings and the total encoded size.
func benchCorpus(b *testing.B) ([]*syncml.Message, [][]byte, int64) {
	b.Helper()
	var messages []*syncml.Message
	var encoded [][]byte
	var size int64
	for _, m := range xmlCorpus(b) {
		out, err := EncodeSyncML(m)
		if err != nil {
			b.Fatalf("EncodeSyncML: %v", err)
		}
		messages = append(messages, m)
		encoded = append(encoded, out)
		size += int64(len(out))
	}
	return messages, encoded, size
}

// BenchmarkEncodeSyncML encodes every XML corpus message once per
// iteration. MB/s counts WBXML bytes written.
func BenchmarkEncodeSyncML(b *testing.B) {
	messages, _, size := benchCorpus(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range messages {
			if _, err := EncodeSyncML(m); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecodeSyncML decodes the WBXML encoding of every XML corpus
// message once per iteration. MB/s counts WBXML bytes read.
func BenchmarkDecodeSyncML(b *testing.B) {
	_, encoded, size := benchCorpus(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, in := range encoded {
			if _, err := DecodeSyncML(in); err != nil {
				b.Fatal(err)
			}
		}
	}
}
