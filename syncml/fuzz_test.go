package syncml

import (
	"os"
	"reflect"
	"testing"
)

// FuzzDecode checks that Decode never panics and that every message it
// accepts encodes and decodes back to the same model.
func FuzzDecode(f *testing.F) {
	for _, folder := range []string{"messages", "fragments"} {
		for _, path := range corpusFiles(f, folder) {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add(message(`<Atomic><CmdID>1</CmdID><Replace><CmdID>2</CmdID><Item><Data><a/></Data></Item></Replace></Atomic>`))

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		Validate(m)
		for range m.Commands() {
		}

		out, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode of a decoded message: %v", err)
		}
		again, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode of an encoded message: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normalize(m), normalize(again)) {
			t.Fatalf("round trip changed the model\nbefore: %+v\nafter:  %+v", m, again)
		}
	})
}
