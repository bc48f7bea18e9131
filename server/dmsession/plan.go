package dmsession

import (
	"github.com/virmo/virmo/syncml"
)

// planNext picks the server commands of the reply. A session reads the VM
// list, then the leaves of every VM, then sends queued commands one batch
// per message until none is left; then it sends Status and Final only,
// which ends the session: the device must not answer a message without
// commands or challenge.
func (t *turn) planNext() error {
	if t.aborted {
		t.st.Ended = true
		return nil
	}
	t.sendNotices()
	if !t.in.Body.Final && !t.nextMessageRequested() {
		// The client's package goes on in its next message: ask for it
		// and send no command until the package is complete.
		t.out = append(t.out, syncml.Command{
			Name:  syncml.CmdAlert,
			CmdID: t.nextCmdID(),
			Data:  "1222",
		})
		t.noFinal = true
		return nil
	}
	if t.st.Outbound != nil {
		sending, err := t.continueOutbound()
		if err != nil || sending {
			return err
		}
	}

	switch t.st.Phase {
	case phaseStart:
		t.st.Phase = phaseVMList
		t.sendVMList()
		return nil

	case phaseVMList:
		inv := t.st.Inventory
		if inv != nil && inv.ListStatus == syncml.StatusOK && len(inv.Names) > 0 {
			t.st.Phase = phaseVMLeaves
			t.sendLeafGets()
			return nil
		}
		t.st.Phase = phaseQueue
		if inv != nil && inv.ListStatus == syncml.StatusOK {
			if err := t.observeInventory(); err != nil {
				return err
			}
		} else {
			t.e.log.Warn("VM inventory not read", "device", t.device.ID,
				"session", t.in.Header.SessionID, "status", listStatus(inv))
		}

	case phaseVMLeaves:
		t.st.Phase = phaseQueue
		if inv := t.st.Inventory; inv != nil && inv.leavesAnswered() {
			if err := t.observeInventory(); err != nil {
				return err
			}
		} else {
			t.e.log.Warn("VM inventory incomplete: some Gets got no Status",
				"device", t.device.ID, "session", t.in.Header.SessionID)
		}
	}

	sent, err := t.sendQueued()
	if err != nil {
		return err
	}
	if sent == 0 {
		t.st.Ended = true
	}
	return nil
}

func listStatus(inv *inventory) int {
	if inv == nil {
		return 0
	}
	return inv.ListStatus
}
