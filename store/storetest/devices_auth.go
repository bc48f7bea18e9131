package storetest

import (
	"context"
	"testing"

	"github.com/virmo/virmo/store"
)

// testDeviceAuthType checks that AuthType is stored, updated and kept
// empty when never set, so old rows keep meaning md5.
func testDeviceAuthType(t *testing.T, s store.Store) {
	ctx := context.Background()
	plain := sampleDevice("dev-1")
	must(t, "create device", s.CreateDevice(ctx, plain))
	got, err := s.GetDevice(ctx, "dev-1")
	must(t, "get device", err)
	if got.AuthType != "" {
		t.Errorf("AuthType of a device created without one = %q, want empty", got.AuthType)
	}

	hmac := sampleDevice("dev-2")
	hmac.AuthType = store.AuthHMAC
	must(t, "create device", s.CreateDevice(ctx, hmac))
	got, err = s.GetDeviceByDevID(ctx, hmac.DevID)
	must(t, "get device by devid", err)
	checkEqual(t, "device with auth type", got, hmac)

	hmac.AuthType = store.AuthBasic
	must(t, "update device", s.UpdateDevice(ctx, hmac))
	got, err = s.GetDevice(ctx, "dev-2")
	must(t, "get device", err)
	if got.AuthType != store.AuthBasic {
		t.Errorf("AuthType after update = %q, want %q", got.AuthType, store.AuthBasic)
	}
}
