package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/virmo/virmo/store"
)

func sampleDevice(id string) store.Device {
	return store.Device{
		ID:                 id,
		DevID:              "IMEI:" + id,
		Name:               "device " + id,
		ServerID:           "virmo-server",
		ClientUser:         "client-" + id,
		ClientSecretSealed: []byte{0x00, 0x01, 0xfe, 0xff},
		ServerSecretSealed: []byte("sealed server secret"),
		ClientNonce:        []byte{0x00},
		ServerNonce:        []byte{0xff, 0x00, 0x7f},
		DevInfo: map[string]string{
			"Man":   "Ex\"ample\\ Corp",
			"Mod":   "Modèle 7 ✓",
			"Lang":  "",
			"DmV":   "1.2",
			"Ext/x": "line1\nline2",
		},
		CreatedAt: at(0),
		LastSeen:  at(5),
	}
}

func testDeviceRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	want := sampleDevice("dev-1")
	must(t, "create device", s.CreateDevice(ctx, want))

	got, err := s.GetDevice(ctx, "dev-1")
	must(t, "get device", err)
	checkEqual(t, "GetDevice", got, want)

	got, err = s.GetDeviceByDevID(ctx, want.DevID)
	must(t, "get device by devid", err)
	checkEqual(t, "GetDeviceByDevID", got, want)
}

func testDeviceEmptyFields(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, want := range []store.Device{
		{ID: "dev-nil", DevID: "devid-nil"},
		{
			ID: "dev-empty", DevID: "devid-empty",
			ClientSecretSealed: []byte{}, ServerSecretSealed: []byte{},
			ClientNonce: []byte{}, ServerNonce: []byte{},
			DevInfo: map[string]string{},
		},
	} {
		must(t, "create device", s.CreateDevice(ctx, want))
		got, err := s.GetDevice(ctx, want.ID)
		must(t, "get device", err)
		checkEqual(t, "GetDevice "+want.ID, got, want)
	}
}

func testDeviceNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, "create device", s.CreateDevice(ctx, sampleDevice("dev-1")))

	_, err := s.GetDevice(ctx, "dev-missing")
	checkErr(t, "GetDevice", err, store.ErrNotFound, "dev-missing")

	_, err = s.GetDeviceByDevID(ctx, "IMEI:missing")
	checkErr(t, "GetDeviceByDevID", err, store.ErrNotFound, "IMEI:missing")

	err = s.UpdateDevice(ctx, sampleDevice("dev-missing"))
	checkErr(t, "UpdateDevice", err, store.ErrNotFound, "dev-missing")
}

func testDeviceConflict(t *testing.T, s store.Store) {
	ctx := context.Background()
	first := sampleDevice("dev-1")
	must(t, "create device", s.CreateDevice(ctx, first))

	sameID := sampleDevice("dev-1")
	sameID.DevID = "IMEI:other"
	sameDevID := sampleDevice("dev-2")
	sameDevID.DevID = first.DevID

	tests := []struct {
		name string
		dev  store.Device
		key  string
	}{
		{"same id", sameID, "dev-1"},
		{"same devid", sameDevID, first.DevID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CreateDevice(ctx, tc.dev)
			checkErr(t, "CreateDevice", err, store.ErrConflict, tc.key)

			got, err := s.GetDevice(ctx, "dev-1")
			must(t, "get device", err)
			checkEqual(t, "first device", got, first)
		})
	}

	_, err := s.GetDevice(ctx, "dev-2")
	checkErr(t, "GetDevice after conflict", err, store.ErrNotFound, "dev-2")
}

func testDeviceUpdate(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, "create device", s.CreateDevice(ctx, sampleDevice("dev-1")))
	must(t, "create device", s.CreateDevice(ctx, sampleDevice("dev-2")))

	want := store.Device{
		ID:                 "dev-1",
		DevID:              "IMEI:renamed",
		Name:               "renamed",
		ServerID:           "other-server",
		ClientUser:         "user-2",
		ClientSecretSealed: []byte("new client"),
		ServerSecretSealed: nil,
		ClientNonce:        []byte{1, 2, 3},
		ServerNonce:        []byte{4, 5, 6},
		DevInfo:            map[string]string{"Man": "Other"},
		CreatedAt:          at(1),
		LastSeen:           at(60),
	}
	must(t, "update device", s.UpdateDevice(ctx, want))

	got, err := s.GetDevice(ctx, "dev-1")
	must(t, "get device", err)
	checkEqual(t, "updated device", got, want)

	got, err = s.GetDeviceByDevID(ctx, "IMEI:renamed")
	must(t, "get device by new devid", err)
	checkEqual(t, "device by new devid", got, want)

	_, err = s.GetDeviceByDevID(ctx, "IMEI:dev-1")
	checkErr(t, "GetDeviceByDevID old devid", err, store.ErrNotFound, "IMEI:dev-1")

	conflicting := want
	conflicting.DevID = "IMEI:dev-2"
	err = s.UpdateDevice(ctx, conflicting)
	checkErr(t, "UpdateDevice to conflicting devid", err, store.ErrConflict, "dev-1")

	got, err = s.GetDevice(ctx, "dev-1")
	must(t, "get device", err)
	checkEqual(t, "device after conflict", got, want)
}

func testListDevices(t *testing.T, s store.Store) {
	ctx := context.Background()
	got, err := s.ListDevices(ctx)
	must(t, "list devices", err)
	if len(got) != 0 {
		t.Errorf("ListDevices on empty store returned %d devices", len(got))
	}

	ids := []string{"dev-b", "dev-a", "dev-c"}
	for _, id := range ids {
		must(t, "create device", s.CreateDevice(ctx, sampleDevice(id)))
	}
	got, err = s.ListDevices(ctx)
	must(t, "list devices", err)

	slices.SortFunc(got, func(a, b store.Device) int {
		return strings.Compare(a.ID, b.ID)
	})
	slices.Sort(ids)
	if len(got) != len(ids) {
		t.Fatalf("ListDevices returned %d devices, want %d", len(got), len(ids))
	}
	for i, id := range ids {
		checkEqual(t, "device "+id, got[i], sampleDevice(id))
	}
}
