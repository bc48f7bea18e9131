package wbxml

import (
	"encoding/base64"

	"github.com/virmo/virmo/syncml"
)

// Meta Formats of binary values: b64 is base64 text, which XML carries, and
// bin is raw bytes, which WBXML carries as OPAQUE data.
const (
	formatB64 = "b64"
	formatBin = "bin"
)

// B64ToOpaque returns a copy of m in which every item with Meta Format b64
// carries Format bin and the decoded bytes as OPAQUE data, the form in
// which WBXML sends binary values. m and its items are left unchanged.
// An item whose data is not valid base64 is copied as it is.
//
// NOTE: only an Item's own Meta is looked at. A Format given once in the
// command's Meta for all its items is not converted.
func B64ToOpaque(m *syncml.Message) *syncml.Message {
	out := *m
	out.Body.Commands = cloneCommands(m.Body.Commands)
	forEachItem(out.Body.Commands, B64ItemToOpaque)
	return &out
}

// OpaqueToB64 changes m in place: every item with Meta Format bin and
// OPAQUE data gets Format b64 and the base64 text of the bytes, so callers
// see one form of binary values whatever the encoding. It is the inverse
// of B64ToOpaque and has the same NOTE on command Meta. It changes each
// Meta in place, so items must not share one, as decoded items do not.
func OpaqueToB64(m *syncml.Message) {
	forEachItem(m.Body.Commands, opaqueItemToB64)
}

// B64ItemToOpaque changes an item with Meta Format b64 to Format bin with
// the decoded bytes as OPAQUE data. It copies the Meta before changing it,
// so a Meta shared with another item stays b64. An item that has no Meta,
// another Format, OPAQUE data already, or data that is not valid base64
// is left as it is.
func B64ItemToOpaque(it *syncml.Item) {
	if it.Meta == nil || it.Meta.Format != formatB64 || it.Data == nil || it.Data.Opaque {
		return
	}
	raw, err := base64.StdEncoding.DecodeString(it.Data.Value)
	if err != nil {
		return
	}
	meta := *it.Meta
	meta.Format = formatBin
	it.Meta = &meta
	it.Data = &syncml.Data{Value: string(raw), Opaque: true}
}

// opaqueItemToB64 changes OPAQUE data of an item with Meta Format bin to
// b64 text. It changes the item's Meta in place.
func opaqueItemToB64(it *syncml.Item) {
	if it.Meta == nil || it.Meta.Format != formatBin || it.Data == nil || !it.Data.Opaque {
		return
	}
	it.Meta.Format = formatB64
	it.Data = syncml.NewData(base64.StdEncoding.EncodeToString([]byte(it.Data.Value)))
}

// forEachItem calls f on every Item of cmds and of their children.
func forEachItem(cmds []syncml.Command, f func(*syncml.Item)) {
	for i := range cmds {
		for j := range cmds[i].Items {
			f(&cmds[i].Items[j])
		}
		forEachItem(cmds[i].Commands, f)
	}
}

// cloneCommands copies cmds deeply enough for forEachItem to change the
// copy's items without touching the originals.
func cloneCommands(cmds []syncml.Command) []syncml.Command {
	if cmds == nil {
		return nil
	}
	out := make([]syncml.Command, len(cmds))
	for i, c := range cmds {
		c.Items = append([]syncml.Item(nil), c.Items...)
		c.Commands = cloneCommands(c.Commands)
		out[i] = c
	}
	return out
}
