package virmo

import (
	"context"
	"fmt"
	"strconv"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/hypervisor"
)

// Sync reconciles the tree with the hypervisor in one transaction:
//
//   - every hypervisor VM gets a VirMO/<x> with all its required nodes
//     (VMID, Config, LockParams/State 0, UserUnlock false, Ext with
//     MaxUnlockAttempts from Options and SingleUseUnlock true, the per-VM
//     LAWMO with State 30); State, VMID and Config are refreshed;
//   - VirMO/<x> of vanished VMs is deleted;
//   - a fully locked VM found running is paused again and reported with a
//     StateChange alert marked critical (tamper); a partially locked VM
//     gets its user access blocked again;
//   - any other run-state change since the last look is reported with a
//     StateChange alert (Mark warning for a failed VM).
//
// A VM whose configuration fails hypervisor.Config.Validate, so that its
// Config nodes cannot carry it, gets no VirMO/<x> when it is new. An
// existing VirMO/<x> keeps its Config values but still follows the
// VM's run state and lock. Either way Sync logs one warning for the VM
// until its configuration changes, and does not fail.
//
// Log lines about added, removed or changed nodes are written only after
// the transaction commits. The agent calls Sync at start and periodically.
func (m *MO) Sync(ctx context.Context) error {
	if m.tree == nil {
		return errNotAttached
	}
	vms, err := m.drv.List(ctx)
	if err != nil {
		return fmt.Errorf("sync VirMO: list VMs: %w", err)
	}

	var logs commitLog
	err = m.tree.Update(func(tx *dmtree.Tx) error {
		logs = nil
		return m.syncTx(ctx, tx, vms, &logs)
	})
	if err != nil {
		return err
	}
	logs.flush()
	return nil
}

// syncTx is the transaction of Sync.
func (m *MO) syncTx(ctx context.Context, tx *dmtree.Tx, vms []hypervisor.VM,
	logs *commitLog) error {
	root, err := tx.Node(Root)
	if err != nil {
		return fmt.Errorf("sync VirMO: %w", err)
	}
	if root.ACL == "" {
		if err := tx.SetACL(Root, RootACL); err != nil {
			return err
		}
	}

	seen := make(map[string]bool, len(vms))
	for _, vm := range vms {
		if _, err := dmtree.ParseURI(Root + "/" + vm.Name); err != nil {
			m.warnOnce(vm.Name, "VM name cannot be a node name, VM skipped", err)
			continue
		}
		v := vmTx{tx: tx, name: vm.Name}
		configOK := m.checkConfig(v, vm)
		if !configOK && !v.exists("") {
			continue
		}
		seen[vm.Name] = true
		if err := m.syncVM(ctx, v, vm, configOK, logs); err != nil {
			return fmt.Errorf("sync VM %s: %w", vm.Name, err)
		}
	}

	for _, name := range root.Children {
		if seen[name] {
			continue
		}
		if err := tx.Delete(Root + "/" + name); err != nil {
			return err
		}
		logs.info(m.log, "VM vanished from the hypervisor, node removed", "vm", name)
	}
	m.forgetVanished(vms)
	return nil
}

// syncVM reconciles one VirMO/<x> with the hypervisor's view vm. With
// configOK false it leaves the Config nodes as they are.
func (m *MO) syncVM(ctx context.Context, v vmTx, vm hypervisor.VM, configOK bool,
	logs *commitLog) error {
	isNew := !v.exists("")
	if isNew {
		if err := v.tx.AddFromDef(v.uri("")); err != nil {
			return err
		}
		if err := v.putInt(pathMaxUnlockAttempts, m.opts.MaxUnlockAttempts); err != nil {
			return err
		}
		logs.info(m.log, "VM found on the hypervisor, node added", "vm", vm.Name, "vmid", vm.UUID)
	} else if err := m.addMissing(v.tx, v.uri(""), m.def.Children[0]); err != nil {
		return err
	}
	oldState, _ := v.int(pathState)

	if err := m.fillVM(v, vm, configOK); err != nil {
		return err
	}
	if err := m.enforceLock(ctx, v, vm); err != nil {
		return err
	}
	if v.exists(pathUnlockAuth) {
		acl := UnlockAuthACL(m.opts.ProvisioningServerID)
		if n, _ := v.tx.Node(v.uri(pathUnlockAuth)); n.ACL != acl {
			if err := v.tx.SetACL(v.uri(pathUnlockAuth), acl); err != nil {
				return err
			}
		}
	}

	newState, _ := v.int(pathState)
	if !isNew && newState != oldState && newState == int(vm.State) {
		mark := MarkInformational
		if vm.State == hypervisor.StateFailed {
			mark = MarkWarning
		}
		m.queueStateChange(v, newState, mark)
		logs.info(m.log, "VM state changed outside a server command",
			"vm", vm.Name, "from", oldState, "to", newState)
	}
	return nil
}

// enforceLock pauses a fully locked VM that runs and blocks user access to
// a partially locked one.
func (m *MO) enforceLock(ctx context.Context, v vmTx, vm hypervisor.VM) error {
	switch v.lockLevel() {
	case LAWMOFullyLocked:
		if vm.State != hypervisor.StateRunning {
			return nil
		}
		if err := m.drv.Pause(ctx, v.name); err != nil {
			return fmt.Errorf("pause locked VM: %w", err)
		}
		if err := m.refreshState(ctx, v); err != nil {
			return err
		}
		state, _ := v.int(pathState)
		m.queueStateChange(v, state, MarkCritical)
		m.log.Warn("locked VM was running, paused it again", "vm", v.name)

	case LAWMOPartiallyLocked:
		if err := m.drv.SetUserAccess(ctx, v.name, false); err != nil {
			return fmt.Errorf("block user access to locked VM: %w", err)
		}
	}
	return nil
}

func (m *MO) queueStateChange(v vmTx, state int, mark string) {
	v.tx.QueueAlert(dmtree.Alert{
		Type:   AlertStateChange,
		Format: string(dmtree.FormatInt),
		Mark:   mark,
		Source: v.locURI(pathState),
		Target: v.locURI(""),
		Data:   strconv.Itoa(state),
	})
}

// fillVM copies VMID, State and, with configOK, Config from the
// hypervisor's view.
func (m *MO) fillVM(v vmTx, vm hypervisor.VM, configOK bool) error {
	if err := v.put(pathVMID, dmtree.FormatChr, vm.UUID); err != nil {
		return err
	}
	if err := v.putInt(pathState, int(vm.State)); err != nil {
		return err
	}
	if !configOK {
		return nil
	}
	if err := v.putInt(pathVCPUs, vm.Config.VCPUs); err != nil {
		return err
	}
	if err := v.putInt(pathMemoryMiB, vm.Config.MemoryMiB); err != nil {
		return err
	}
	if err := v.putBool(pathAutoStart, vm.Config.AutoStart); err != nil {
		return err
	}
	if vm.Config.Image != "" || v.exists(pathImage) {
		return v.put(pathImage, dmtree.FormatChr, vm.Config.Image)
	}
	return nil
}

// addMissing adds the required nodes of def (named children with
// Occurrence One) missing below uri, for a tree stored by an older agent.
func (m *MO) addMissing(tx *dmtree.Tx, uri string, def *dmtree.NodeDef) error {
	for _, child := range def.Children {
		if child.Name == "" || child.Occurrence != dmtree.OccurrenceOne {
			continue
		}
		cu := uri + "/" + child.Name
		if _, err := tx.Node(cu); err != nil {
			if err := tx.AddFromDef(cu); err != nil {
				return err
			}
			continue
		}
		if child.Format == dmtree.FormatNode {
			if err := m.addMissing(tx, cu, child); err != nil {
				return err
			}
		}
	}
	return nil
}
