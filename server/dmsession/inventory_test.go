package dmsession

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/virmo/virmo/syncml"
)

func TestInventoryFlow(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("I1")
	d.send(d.build(credValid, true, pkg1()...))

	reply := d.send(d.build(credNone, true, d.hdrOK(),
		status("1", "4", syncml.CmdGet, 200),
		results("1", "4", "./VirMO", "vm1/vm2")))
	expect(t, "VM list answered", reply,
		"Status 2/0 SyncHdr 212",
		"Get#2 ./VirMO/vm1/VMID",
		"Get#3 ./VirMO/vm1/State",
		"Get#4 ./VirMO/vm1/LockParams/State",
		"Get#5 ./VirMO/vm1/LockParams/UserUnlock",
		"Get#6 ./VirMO/vm1/Ext/LockGeneration",
		"Get#7 ./VirMO/vm2/VMID",
		"Get#8 ./VirMO/vm2/State",
		"Get#9 ./VirMO/vm2/LockParams/State",
		"Get#10 ./VirMO/vm2/LockParams/UserUnlock",
		"Get#11 ./VirMO/vm2/Ext/LockGeneration",
		"Final")
	if len(f.hooks.inventories) != 0 {
		t.Fatalf("InventoryObserved called before the leaves were read")
	}

	values := map[string]string{
		"2": "11111111-2222-3333-4444-555555555555", "3": "20", "4": "1", "5": "true", "6": "7",
		"7": "66666666-7777-8888-9999-000000000000", "8": "30", "10": "false", "11": "0",
	}
	// Results come before some Statuses, and vm2 has no LockParams/State.
	cmds := []syncml.Command{d.hdrOK()}
	for id := 2; id <= 11; id++ {
		ref := strconv.Itoa(id)
		uri := reply.Body.Commands[id-1].Items[0].Target.LocURI
		if v, ok := values[ref]; ok {
			cmds = append(cmds, results("2", ref, uri, v), status("2", ref, syncml.CmdGet, 200))
		} else {
			cmds = append(cmds, status("2", ref, syncml.CmdGet, 404))
		}
	}
	reply = d.send(d.build(credNone, true, cmds...))
	expect(t, "leaves answered, queue empty", reply, "Status 3/0 SyncHdr 212", "Final")

	want := [][]ObservedVM{{
		{Name: "vm1", VMID: "11111111-2222-3333-4444-555555555555", State: 20, LockState: 1,
			UserUnlock: true, LockGeneration: 7},
		{Name: "vm2", VMID: "66666666-7777-8888-9999-000000000000", State: 30, LockState: -1},
	}}
	if !reflect.DeepEqual(f.hooks.inventories, want) {
		t.Fatalf("InventoryObserved calls = %+v, want %+v", f.hooks.inventories, want)
	}
}

func TestInventoryWithoutVMs(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("I2")
	reply := d.openSession()
	expect(t, "empty VM list", reply, "Status 2/0 SyncHdr 212", "Final")
	if len(f.hooks.inventories) != 1 || len(f.hooks.inventories[0]) != 0 {
		t.Fatalf("InventoryObserved calls = %+v, want one empty inventory", f.hooks.inventories)
	}
}

func TestInventoryListFailureSkipsObserve(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("I3")
	d.send(d.build(credValid, true, pkg1()...))
	reply := d.send(d.build(credNone, true, d.hdrOK(), status("1", "4", syncml.CmdGet, 404)))
	expect(t, "no VirMO tree", reply, "Status 2/0 SyncHdr 212", "Final")
	if len(f.hooks.inventories) != 0 {
		t.Fatalf("InventoryObserved called without a VM list: %+v", f.hooks.inventories)
	}
}

func TestDevInfoStored(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("D1")
	d.send(d.build(credValid, true, pkg1()...))

	want := map[string]string{
		"DevId": testDevID, "Man": "Acme", "Mod": "V1", "DmV": "1.2", "Lang": "en-US",
	}
	dev := f.storedDevice()
	if !reflect.DeepEqual(dev.DevInfo, want) {
		t.Errorf("DevInfo = %v, want %v", dev.DevInfo, want)
	}
	if dev.LastSeen.IsZero() {
		t.Errorf("LastSeen not set after an authenticated message")
	}
}
