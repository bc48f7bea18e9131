package wbxml

import (
	"bytes"
	"errors"
	"testing"
)

// header12 is a WBXML 1.2 header: public id 0x1201, UTF-8, no string table.
var header12 = []byte{0x02, 0xA4, 0x01, 0x6A, 0x00}

func doc(header []byte, body ...byte) []byte {
	return append(append([]byte{}, header...), body...)
}

func TestDecodeBadInput(t *testing.T) {
	deep := doc(header12)
	for i := 0; i < MaxDepth+1; i++ {
		deep = append(deep, 0x6D)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"WBXML 1.0", []byte{0x00, 0x01, 0x6A, 0x00, 0x2D}, nil},
		{"mb_u_int32 six bytes", []byte{0x02, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01, 0x6A, 0x00, 0x2D}, nil},
		{"mb_u_int32 overflow", []byte{0x02, 0x9F, 0xFF, 0xFF, 0xFF, 0x7F, 0x6A, 0x00, 0x2D}, nil},
		{"charset Latin-1", []byte{0x02, 0xA4, 0x01, 0x04, 0x00, 0x2D}, ErrUnsupportedCharset},
		{"string table too long", []byte{0x02, 0xA4, 0x01, 0x6A, 0x8F, 0x7F, 0x00}, ErrTruncated},
		{"public id index past table", []byte{0x02, 0x00, 0x05, 0x6A, 0x01, 0x00, 0x2D}, nil},
		{"STR_T index past table", []byte{0x02, 0xA4, 0x01, 0x6A, 0x02, 'a', 0x00,
			0x6D, 0x83, 0x09, 0x01}, nil},
		{"literal index past table", doc(header12, 0x04, 0x03), nil},
		{"unknown page", doc(header12, 0x00, 0x07, 0x2D), ErrUnknownPage},
		{"reserved token", doc(header12, 0x30), ErrUnknownToken},
		{"unknown metinf token", doc(header12, 0x00, 0x01, 0x3F), ErrUnknownToken},
		{"PI token", doc(header12, 0x43, 0x05, 0x01), ErrUnsupportedToken},
		{"EXT_I token", doc(header12, 0x6D, 0x40, 'a', 0x00, 0x01), ErrUnsupportedToken},
		{"EXT_T token", doc(header12, 0x6D, 0x80, 0x00, 0x01), ErrUnsupportedToken},
		{"EXT token", doc(header12, 0x6D, 0xC0, 0x01), ErrUnsupportedToken},
		{"attributes", doc(header12, 0xAD, 0x05, 0x01), ErrUnsupportedToken},
		{"unterminated STR_I", doc(header12, 0x6D, 0x03, 'a', 'b'), ErrTruncated},
		{"missing END", doc(header12, 0x6D, 0x6B), ErrTruncated},
		{"opaque length huge", doc(header12, 0x6D, 0xC3, 0x8F, 0xFF, 0xFF, 0x7F, 0x00), ErrTruncated},
		{"entity surrogate", doc(header12, 0x6D, 0x02, 0x83, 0xB0, 0x00, 0x01), nil},
		{"entity past Unicode", doc(header12, 0x6D, 0x02, 0xC4, 0x80, 0x00, 0x01), nil},
		{"END as root", doc(header12, 0x01), nil},
		{"bytes after root", doc(header12, 0x2D, 0x2D), nil},
		{"deep nesting", deep, nil},
		{"too large", append(doc(header12, 0x2D), make([]byte, MaxDocumentSize)...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.in)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode error = %v, want a *DecodeError", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Decode error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeTruncatedCorpus(t *testing.T) {
	files := corpusFiles(t, ".wbxml")
	for name, b := range files {
		for n := 0; n < len(b); n++ {
			if _, err := DecodeSyncML(b[:n]); err == nil {
				t.Errorf("%s cut to %d bytes: DecodeSyncML succeeded", name, n)
			}
		}
	}
}

func TestDecodeTruncatedEncoding(t *testing.T) {
	for name, m := range xmlCorpus(t) {
		b, err := EncodeSyncML(m)
		if err != nil {
			t.Fatalf("%s: EncodeSyncML: %v", name, err)
		}
		for n := 0; n < len(b); n++ {
			if _, err := DecodeSyncML(b[:n]); err == nil {
				t.Errorf("%s cut to %d bytes: DecodeSyncML succeeded", name, n)
			}
		}
	}
}

func TestDecodeAcceptedForms(t *testing.T) {
	table := []byte("-//SYNCML//DTD SyncML 1.2//EN\x00Foo\x00x\x00")
	header := append([]byte{0x03, 0x00, 0x00, 0x6A, byte(len(table))}, table...)
	tests := []struct {
		name     string
		in       []byte
		wantName string
		wantText string
	}{
		{"literal tag", doc(header, 0x44, 0x1E, 0x03, 'v', 0x00, 0x01), "Foo", "v"},
		{"literal without content", doc(header, 0x04, 0x1E), "Foo", ""},
		{"string table text", doc(header, 0x6D, 0x83, 0x22, 0x01), "SyncML", "x"},
		{"entity", doc(header, 0x6D, 0x02, 0x81, 0x00, 0x01), "SyncML", "\u0080"},
		{"switch before root", doc(header, 0x00, 0x01, 0x4E, 0x01), "MetInf", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decode(tt.in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d.PublicIDString != "-//SYNCML//DTD SyncML 1.2//EN" {
				t.Errorf("PublicIDString = %q", d.PublicIDString)
			}
			if d.Root.Name != tt.wantName {
				t.Errorf("root = %q, want %q", d.Root.Name, tt.wantName)
			}
			if !bytes.Equal(d.Root.Text, []byte(tt.wantText)) {
				t.Errorf("text = %q, want %q", d.Root.Text, tt.wantText)
			}
		})
	}
}

func TestDecodeSyncMLRejectsOtherDocuments(t *testing.T) {
	// Public id 0x1203 is DevInf 1.2, not a SyncML message.
	in := []byte{0x02, 0xA4, 0x03, 0x6A, 0x00, 0x2D}
	if _, err := DecodeSyncML(in); err == nil {
		t.Errorf("DecodeSyncML accepted public id 0x1203")
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range corpusFiles(f, ".wbxml") {
		f.Add(b)
	}
	for _, m := range xmlCorpus(f) {
		if b, err := EncodeSyncML(m); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeSyncML(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode, unless it holds text that WBXML
		// inline strings cannot carry, and decode back to the same model.
		out, err := EncodeSyncML(m)
		if err != nil {
			return
		}
		again, err := DecodeSyncML(out)
		if err != nil {
			t.Fatalf("re-decode of encoded message failed: %v", err)
		}
		assertSameMessage(t, normalise(again), normalise(m))
	})
}
