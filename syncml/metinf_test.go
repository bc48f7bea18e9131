package syncml

import (
	"reflect"
	"testing"
)

func TestMetInfFields(t *testing.T) {
	tests := []struct {
		name string
		meta Meta
		want []MetInfField
	}{
		{"none set", Meta{}, []MetInfField{}},
		{"one set", Meta{Size: "12"}, []MetInfField{{"Size", "12"}}},
		{"DTD order kept",
			Meta{MaxObjSize: "4", NextNonce: "bm9uY2U=", Type: "text/plain", Format: "chr"},
			[]MetInfField{{"Format", "chr"}, {"Type", "text/plain"},
				{"NextNonce", "bm9uY2U="}, {"MaxObjSize", "4"}}},
		{"all set",
			Meta{Format: "b64", Type: "t", Mark: "m", Size: "1", Version: "v",
				NextNonce: "n", MaxMsgSize: "2", MaxObjSize: "3"},
			[]MetInfField{{"Format", "b64"}, {"Type", "t"}, {"Mark", "m"}, {"Size", "1"},
				{"Version", "v"}, {"NextNonce", "n"}, {"MaxMsgSize", "2"}, {"MaxObjSize", "3"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MetInfFields(&tt.meta); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MetInfFields = %v, want %v", got, tt.want)
			}
		})
	}
}
