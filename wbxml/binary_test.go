package wbxml

import (
	"reflect"
	"testing"

	"github.com/virmo/virmo/syncml"
)

func binItem(format string, data *syncml.Data) syncml.Item {
	item := syncml.Item{Target: &syncml.Locator{LocURI: "./VirMO/vm1/Blob"}, Data: data}
	if format != "" {
		item.Meta = &syncml.Meta{Format: format, Type: "application/octet-stream"}
	}
	return item
}

// messageWith returns a message whose Replace and whose Atomic's nested
// Replace each carry a copy of item, so conversions must reach child
// commands. The copies share no Meta or Data, as decoded items do not.
func messageWith(item syncml.Item) *syncml.Message {
	nested := copyItem(item)
	item = copyItem(item)
	return &syncml.Message{Body: syncml.Body{Commands: []syncml.Command{
		{Name: syncml.CmdReplace, CmdID: "1", Items: []syncml.Item{item}},
		{Name: syncml.CmdAtomic, CmdID: "2", Commands: []syncml.Command{
			{Name: syncml.CmdReplace, CmdID: "3", Items: []syncml.Item{nested}},
		}},
	}}}
}

func copyItem(item syncml.Item) syncml.Item {
	if item.Meta != nil {
		meta := *item.Meta
		item.Meta = &meta
	}
	if item.Data != nil {
		data := *item.Data
		item.Data = &data
	}
	return item
}

// items returns the item of the Replace and of the nested Replace.
func items(m *syncml.Message) []syncml.Item {
	return []syncml.Item{m.Body.Commands[0].Items[0], m.Body.Commands[1].Commands[0].Items[0]}
}

func TestB64ToOpaque(t *testing.T) {
	tests := []struct {
		name string
		in   syncml.Item
		want syncml.Item
	}{
		{"b64 becomes opaque bin",
			binItem("b64", syncml.NewData("AAEC/w==")),
			binItem("bin", &syncml.Data{Value: "\x00\x01\x02\xff", Opaque: true})},
		{"empty b64 becomes empty opaque",
			binItem("b64", syncml.NewData("")),
			binItem("bin", &syncml.Data{Value: "", Opaque: true})},
		{"invalid base64 kept",
			binItem("b64", syncml.NewData("not base64!")),
			binItem("b64", syncml.NewData("not base64!"))},
		{"chr format kept",
			binItem("chr", syncml.NewData("AAEC")),
			binItem("chr", syncml.NewData("AAEC"))},
		{"no meta kept",
			binItem("", syncml.NewData("AAEC")),
			binItem("", syncml.NewData("AAEC"))},
		{"no data kept",
			binItem("b64", nil),
			binItem("b64", nil)},
		{"opaque b64 kept",
			binItem("b64", &syncml.Data{Value: "AAEC", Opaque: true}),
			binItem("b64", &syncml.Data{Value: "AAEC", Opaque: true})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := messageWith(tt.in)
			before := messageWith(tt.in)

			got := B64ToOpaque(in)

			for i, item := range items(got) {
				if !reflect.DeepEqual(item, tt.want) {
					t.Errorf("item %d = %+v (meta %+v, data %+v), want %+v (meta %+v, data %+v)",
						i, item, item.Meta, item.Data, tt.want, tt.want.Meta, tt.want.Data)
				}
			}
			if !reflect.DeepEqual(in, before) {
				t.Error("B64ToOpaque changed its input message")
			}
		})
	}
}

func TestOpaqueToB64(t *testing.T) {
	tests := []struct {
		name string
		in   syncml.Item
		want syncml.Item
	}{
		{"opaque bin becomes b64",
			binItem("bin", &syncml.Data{Value: "\x00\x01\x02\xff", Opaque: true}),
			binItem("b64", syncml.NewData("AAEC/w=="))},
		{"empty opaque becomes empty b64",
			binItem("bin", &syncml.Data{Value: "", Opaque: true}),
			binItem("b64", syncml.NewData(""))},
		{"bin text kept",
			binItem("bin", syncml.NewData("AAEC")),
			binItem("bin", syncml.NewData("AAEC"))},
		{"opaque chr kept",
			binItem("chr", &syncml.Data{Value: "abc", Opaque: true}),
			binItem("chr", &syncml.Data{Value: "abc", Opaque: true})},
		{"no meta kept",
			binItem("", &syncml.Data{Value: "abc", Opaque: true}),
			binItem("", &syncml.Data{Value: "abc", Opaque: true})},
		{"no data kept",
			binItem("bin", nil),
			binItem("bin", nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := messageWith(tt.in)

			OpaqueToB64(m)

			for i, item := range items(m) {
				if !reflect.DeepEqual(item, tt.want) {
					t.Errorf("item %d = %+v (meta %+v, data %+v), want %+v (meta %+v, data %+v)",
						i, item, item.Meta, item.Data, tt.want, tt.want.Meta, tt.want.Data)
				}
			}
		})
	}
}

func TestB64OpaqueRoundTrip(t *testing.T) {
	want := messageWith(binItem("b64", syncml.NewData("AAEC/w==")))

	got := B64ToOpaque(want)
	OpaqueToB64(got)

	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip = %+v, want %+v", items(got), items(want))
	}
}

func TestB64ItemToOpaqueKeepsSharedMeta(t *testing.T) {
	shared := &syncml.Meta{Format: "b64"}
	first := syncml.Item{Meta: shared, Data: syncml.NewData("AAEC")}
	second := syncml.Item{Meta: shared, Data: syncml.NewData("AAEC")}

	B64ItemToOpaque(&first)

	if first.Meta.Format != "bin" {
		t.Errorf("converted item Format = %q, want bin", first.Meta.Format)
	}
	if second.Meta.Format != "b64" {
		t.Errorf("item sharing the Meta has Format %q, want b64", second.Meta.Format)
	}
}
