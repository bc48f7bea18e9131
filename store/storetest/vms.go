package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/virmo/virmo/store"
)

func sampleVM(deviceID, name string) store.VM {
	return store.VM{
		DeviceID:       deviceID,
		Name:           name,
		VMID:           "uuid-" + deviceID + "-" + name,
		State:          "running",
		LockState:      store.LockPending,
		LockError:      "1402 lock failed",
		LockGeneration: 7,
		UserUnlock:     true,
		UpdatedAt:      at(3),
	}
}

func testVMRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	want := sampleVM("dev-1", "vm1")
	must(t, "put vm", s.PutVM(ctx, want))

	got, err := s.GetVM(ctx, "dev-1", "vm1")
	must(t, "get vm", err)
	checkEqual(t, "GetVM", got, want)

	want = store.VM{DeviceID: "dev-1", Name: "vm1", State: "stopped", LockState: store.LockUnlocked}
	must(t, "overwrite vm", s.PutVM(ctx, want))
	got, err = s.GetVM(ctx, "dev-1", "vm1")
	must(t, "get vm", err)
	checkEqual(t, "GetVM after overwrite", got, want)

	_, err = s.GetVM(ctx, "dev-1", "vm-missing")
	checkErr(t, "GetVM unknown name", err, store.ErrNotFound, "vm-missing")
	_, err = s.GetVM(ctx, "dev-missing", "vm1")
	checkErr(t, "GetVM unknown device", err, store.ErrNotFound, "dev-missing")
}

func testVMKeyedByDeviceAndName(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := sampleVM("dev-a", "vm1")
	b := sampleVM("dev-b", "vm1")
	b.State = "paused"
	b.LockGeneration = 1
	must(t, "put vm", s.PutVM(ctx, a))
	must(t, "put vm", s.PutVM(ctx, b))

	got, err := s.GetVM(ctx, "dev-a", "vm1")
	must(t, "get vm", err)
	checkEqual(t, "dev-a vm1", got, a)

	got, err = s.GetVM(ctx, "dev-b", "vm1")
	must(t, "get vm", err)
	checkEqual(t, "dev-b vm1", got, b)
}

func testListVMsOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	keys := [][2]string{
		{"dev-b", "vm2"}, {"dev-a", "vm3"}, {"dev-b", "vm1"},
		{"dev-a", "vm1"}, {"dev-c", "a"}, {"dev-a", "vm10"},
	}
	for _, k := range keys {
		must(t, "put vm", s.PutVM(ctx, sampleVM(k[0], k[1])))
	}

	tests := []struct {
		device string
		want   []string
	}{
		{"", []string{
			"dev-a/vm1", "dev-a/vm10", "dev-a/vm3",
			"dev-b/vm1", "dev-b/vm2", "dev-c/a",
		}},
		{"dev-a", []string{"dev-a/vm1", "dev-a/vm10", "dev-a/vm3"}},
		{"dev-c", []string{"dev-c/a"}},
		{"dev-missing", nil},
	}
	for _, tc := range tests {
		t.Run("device="+tc.device, func(t *testing.T) {
			vms, err := s.ListVMs(ctx, tc.device)
			must(t, "list vms", err)

			var got []string
			for _, vm := range vms {
				got = append(got, vm.DeviceID+"/"+vm.Name)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("ListVMs(%q) = %v, want %v", tc.device, got, tc.want)
			}
			for _, vm := range vms {
				checkEqual(t, vm.DeviceID+"/"+vm.Name, vm, sampleVM(vm.DeviceID, vm.Name))
			}
		})
	}
}

func testDeleteVM(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, "put vm", s.PutVM(ctx, sampleVM("dev-1", "vm1")))
	must(t, "put vm", s.PutVM(ctx, sampleVM("dev-1", "vm2")))

	must(t, "delete vm", s.DeleteVM(ctx, "dev-1", "vm1"))

	_, err := s.GetVM(ctx, "dev-1", "vm1")
	checkErr(t, "GetVM deleted", err, store.ErrNotFound, "vm1")

	_, err = s.GetVM(ctx, "dev-1", "vm2")
	if err != nil {
		t.Errorf("GetVM of the other vm: %v", err)
	}

	err = s.DeleteVM(ctx, "dev-1", "vm1")
	checkErr(t, "DeleteVM twice", err, store.ErrNotFound, "vm1")
}
