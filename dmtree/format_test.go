package dmtree

import (
	"testing"

	"github.com/virmo/virmo/syncml"
)

func TestCheckValue(t *testing.T) {
	tests := []struct {
		format Format
		value  string
		ok     bool
	}{
		{FormatChr, "text", true},
		{FormatChr, "\xff", false},
		{FormatInt, "0", true},
		{FormatInt, "-2147483648", true},
		{FormatInt, "2147483647", true},
		{FormatInt, "2147483648", false},
		{FormatInt, "1.5", false},
		{FormatInt, "", false},
		{FormatInt, " 1", false},
		{FormatBool, "true", true},
		{FormatBool, "false", true},
		{FormatBool, "TRUE", false},
		{FormatBool, "1", false},
		{FormatFloat, "1.5e3", true},
		{FormatFloat, "-0.25", true},
		{FormatFloat, "INF", true},
		{FormatFloat, "NaN", true},
		{FormatFloat, "Infinity", false},
		{FormatFloat, "0x1p3", false},
		{FormatFloat, "1e300", false},
		{FormatDate, "2024-02-29", true},
		{FormatDate, "20240229", true},
		{FormatDate, "2023-02-29", false},
		{FormatDate, "24-02-01", false},
		{FormatTime, "16:38:17", true},
		{FormatTime, "163817", true},
		{FormatTime, "16:38:17Z", true},
		{FormatTime, "16:38:17+02:00", true},
		{FormatTime, "25:00:00", false},
		{FormatNull, "", true},
		{FormatNull, "x", false},
		{FormatBin, "\x00\xff", true},
		{FormatNode, "", false},
		{FormatB64, "AAAA", false},
		{Format("text"), "x", false},
	}
	for _, tt := range tests {
		err := checkValue(tt.format, []byte(tt.value))
		if (err == nil) != tt.ok {
			t.Errorf("checkValue(%s, %q) error = %v, want ok %v", tt.format, tt.value, err, tt.ok)
		}
	}
}

func TestDecodeData(t *testing.T) {
	tests := []struct {
		format     string
		data       *syncml.Data
		wantFormat Format
		wantValue  string
		wantErr    bool
	}{
		{"", syncml.NewData("x"), FormatChr, "x", false},
		{"", nil, FormatChr, "", false},
		{"int", syncml.NewData("5"), FormatInt, "5", false},
		{"b64", syncml.NewData("AAEC"), FormatBin, "\x00\x01\x02", false},
		{"b64", syncml.NewData("AA\nEC"), FormatBin, "\x00\x01\x02", false},
		{"b64", syncml.NewData("QUFFQw=="), FormatBin, "AAEC", false},
		{"b64", syncml.NewData("!!"), "", "", true},
		{"bin", &syncml.Data{Value: "\x00\x01", Opaque: true}, FormatBin, "\x00\x01", false},
	}
	for _, tt := range tests {
		format, value, err := decodeData(&syncml.Meta{Format: tt.format}, tt.data)
		if (err != nil) != tt.wantErr {
			t.Errorf("decodeData(%q) error = %v, want error %v", tt.format, err, tt.wantErr)
			continue
		}
		if format != tt.wantFormat || string(value) != tt.wantValue {
			t.Errorf("decodeData(%q) = %s %q, want %s %q", tt.format, format, value, tt.wantFormat, tt.wantValue)
		}
	}
}
