package dmsession

import (
	"strconv"
	"strings"

	"github.com/virmo/virmo/syncml"
)

// virmoRoot is the VirMO tree root the inventory reads.
const virmoRoot = "./VirMO"

// maxInventoryVMs bounds the VMs read in one session, and so the size of
// the message of leaf Gets.
const maxInventoryVMs = 256

// Leaves read from each ./VirMO/<x>.
const (
	leafVMID           = "VMID"
	leafState          = "State"
	leafLockState      = "LockParams/State"
	leafUserUnlock     = "LockParams/UserUnlock"
	leafLockGeneration = "Ext/LockGeneration"
)

var inventoryLeaves = []string{
	leafVMID, leafState, leafLockState, leafUserUnlock, leafLockGeneration,
}

// inventory is the VM inventory being read in a session.
type inventory struct {
	// ListStatus is the status of Get ./VirMO (0 until answered).
	ListStatus int      `json:"list_status,omitempty"`
	Names      []string `json:"names,omitempty"`
	// Leaves holds per VM name and leaf the status and value of its Get.
	Leaves map[string]map[string]leafAnswer `json:"leaves,omitempty"`
}

type leafAnswer struct {
	Status int    `json:"status,omitempty"`
	Value  string `json:"value,omitempty"`
	// HasValue is set once Results carried the value.
	HasValue bool `json:"has_value,omitempty"`
}

// sendVMList sends Get ./VirMO.
func (t *turn) sendVMList() {
	t.st.Inventory = &inventory{}
	t.sendGet(virmoRoot, sentRef{Kind: refVMList})
}

// sendLeafGets sends one Get per leaf of every listed VM.
func (t *turn) sendLeafGets() {
	inv := t.st.Inventory
	inv.Leaves = map[string]map[string]leafAnswer{}
	for _, name := range inv.Names {
		inv.Leaves[name] = map[string]leafAnswer{}
		for _, leaf := range inventoryLeaves {
			uri := virmoRoot + "/" + name + "/" + leaf
			t.sendGet(uri, sentRef{Kind: refVMLeaf, VM: name, Leaf: leaf})
		}
	}
}

func (t *turn) sendGet(uri string, ref sentRef) {
	id := t.nextCmdID()
	t.out = append(t.out, syncml.Command{
		Name:  syncml.CmdGet,
		CmdID: id,
		Items: []syncml.Item{{Target: &syncml.Locator{LocURI: uri}}},
	})
	t.st.Refs[refKey(strconv.Itoa(t.st.ServerMsgID), id)] = ref
	t.sentCount++
}

func (t *turn) inventoryStatus(ref sentRef, code int) {
	inv := t.st.Inventory
	if inv == nil {
		return
	}
	if ref.Kind == refVMList {
		if inv.ListStatus == 0 {
			inv.ListStatus = code
		}
		return
	}
	if leaves, ok := inv.Leaves[ref.VM]; ok {
		a := leaves[ref.Leaf]
		if a.Status == 0 {
			a.Status = code
		}
		leaves[ref.Leaf] = a
	}
}

func (t *turn) inventoryResults(ref sentRef, c *syncml.Command) {
	inv := t.st.Inventory
	if inv == nil || len(c.Items) == 0 {
		return
	}
	value := strings.TrimSpace(itemData(c.Items[0]))
	if ref.Kind == refVMList {
		inv.Names = t.vmNames(value)
		return
	}
	if leaves, ok := inv.Leaves[ref.VM]; ok {
		a := leaves[ref.Leaf]
		a.Value, a.HasValue = value, true
		leaves[ref.Leaf] = a
	}
}

// vmNames splits the child list of ./VirMO. It drops names that cannot be
// a single URI segment, and names past maxInventoryVMs.
func (t *turn) vmNames(list string) []string {
	var names []string
	seen := map[string]bool{}
	for _, name := range strings.Split(list, "/") {
		name = strings.TrimSpace(name)
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "?#") ||
			seen[name] {
			continue
		}
		if len(names) == maxInventoryVMs {
			t.e.log.Warn("read only the first VMs of the inventory", "device", t.device.ID,
				"max", maxInventoryVMs)
			break
		}
		seen[name] = true
		names = append(names, name)
	}
	return names
}

// leavesAnswered reports whether every leaf Get got a Status.
func (inv *inventory) leavesAnswered() bool {
	for _, name := range inv.Names {
		for _, leaf := range inventoryLeaves {
			if inv.Leaves[name][leaf].Status == 0 {
				return false
			}
		}
	}
	return true
}

// observed turns the answers into ObservedVMs. A leaf whose Get failed or
// returned no value reads as -1 (State, LockState), false or 0.
func (inv *inventory) observed() []ObservedVM {
	vms := make([]ObservedVM, 0, len(inv.Names))
	for _, name := range inv.Names {
		leaves := inv.Leaves[name]
		value := func(leaf string) (string, bool) {
			a := leaves[leaf]
			return a.Value, a.Status == syncml.StatusOK && a.HasValue
		}
		vm := ObservedVM{Name: name, State: -1, LockState: -1}
		if v, ok := value(leafVMID); ok {
			vm.VMID = v
		}
		if v, ok := value(leafState); ok {
			vm.State = parseIntOr(v, -1)
		}
		if v, ok := value(leafLockState); ok {
			vm.LockState = parseIntOr(v, -1)
		}
		if v, ok := value(leafUserUnlock); ok {
			vm.UserUnlock, _ = strconv.ParseBool(v)
		}
		if v, ok := value(leafLockGeneration); ok {
			vm.LockGeneration, _ = strconv.ParseInt(v, 10, 64)
		}
		vms = append(vms, vm)
	}
	return vms
}

func parseIntOr(s string, fallback int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fallback
	}
	return n
}

// observeInventory reports the inventory read to the hooks.
func (t *turn) observeInventory() error {
	return t.e.cfg.Hooks.InventoryObserved(t.ctx, t.q, t.device.ID, t.st.Inventory.observed())
}
