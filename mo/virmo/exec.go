package virmo

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/syncml"
)

// Generic Alert types this MO queues.
const (
	AlertOperationComplete = "urn:oma:at:virmo:1.0:OperationComplete"
	AlertUserUnlock        = "urn:oma:at:virmo:1.0:UserUnlock"
	AlertStateChange       = "urn:oma:at:virmo:1.0:StateChange"
	AlertLAWMOComplete     = "urn:oma:at:lawmo:1.0:OperationComplete"
)

// Result codes carried in the Data of the alerts.
const (
	ResultOK             = 1200
	ResultClientError    = 1400
	ResultLockFailed     = 1402
	ResultPartialFailed  = 1403
	ResultUnlockFailed   = 1404
	ResultWipeFailed     = 1405
	ResultRemoveFailed   = 1408
	ResultStartFailed    = 1409
	ResultStopFailed     = 1410
	ResultNotImplemented = 1411
	ResultRejected       = 1413
)

// Alert Mark values.
const (
	MarkInformational = "informational"
	MarkWarning       = "warning"
	MarkCritical      = "critical"
)

// failureResult is the result code of a failed operation.
var failureResult = map[string]int{
	OpStart:         ResultStartFailed,
	OpResume:        ResultStartFailed,
	OpStop:          ResultStopFailed,
	OpPause:         ResultStopFailed,
	OpLock:          ResultLockFailed,
	OpUnlock:        ResultUnlockFailed,
	OpRemove:        ResultRemoveFailed,
	OpFullyLock:     ResultLockFailed,
	OpPartiallyLock: ResultPartialFailed,
	OpUnLock:        ResultUnlockFailed,
	OpWipe:          ResultWipeFailed,
	OpFactoryReset:  ResultWipeFailed,
}

// exec runs one Exec. With a Correlator the result travels in an
// OperationComplete alert queued in the same transaction and the Exec gets
// 202, also when the operation failed; without one the Exec's status is the
// result: 200, 403 for an operation the VM's state rejects (Start or Resume
// while locked, Pause of a stopped VM), 404 for a VM the hypervisor does not
// know, 500 for other failures.
func (m *MO) exec(ctx context.Context, tx *dmtree.Tx, req dmtree.ExecRequest) int {
	v, rest, ok := vmFor(tx, req.URI)
	if !ok || !v.exists("") {
		return syncml.StatusNotFound
	}

	var op, alertType string
	switch {
	case len(rest) == 2 && rest[0] == pathOperations && slices.Contains(virmoOps, rest[1]):
		op, alertType = rest[1], AlertOperationComplete
	case len(rest) == 4 && rest[0] == pathDM && rest[1] == "LAWMO" &&
		rest[2] == "Operations" && slices.Contains(lawmoOps, rest[3]):
		op, alertType = rest[3], AlertLAWMOComplete
	default:
		return syncml.StatusCommandNotAllowed
	}

	err := m.runOp(ctx, v, op)
	result := ResultOK
	if errors.Is(err, errLocked) {
		result = ResultRejected
	} else if err != nil {
		result = failureResult[op]
	}
	m.logResult(v.name, op, req, result, err)

	if req.Correlator == "" {
		return execStatus(err)
	}

	mark := MarkInformational
	if result != ResultOK {
		mark = MarkWarning
	}
	tx.QueueAlert(dmtree.Alert{
		Type:       alertType,
		Format:     string(dmtree.FormatInt),
		Mark:       mark,
		Source:     "./" + req.URI.String(),
		Target:     v.locURI(""),
		Data:       strconv.Itoa(result),
		Correlator: req.Correlator,
	})
	return syncml.StatusAccepted
}

func (m *MO) logResult(vm, op string, req dmtree.ExecRequest, result int, err error) {
	attrs := []any{"vm", vm, "op", op, "server", req.ServerID,
		"correlator", req.Correlator, "result", result}
	if err != nil {
		m.log.Warn("VM operation failed", append(attrs, "err", err)...)
		return
	}
	m.log.Info("VM operation done", attrs...)
}

// execStatus maps an operation error to the status of an Exec without a
// Correlator.
func execStatus(err error) int {
	var se *dmtree.StatusError
	switch {
	case err == nil:
		return syncml.StatusOK
	case errors.Is(err, errLocked), errors.Is(err, hypervisor.ErrInvalidState):
		return syncml.StatusForbidden
	case errors.Is(err, hypervisor.ErrNotFound):
		return syncml.StatusNotFound
	case errors.As(err, &se):
		return se.Code
	}
	return syncml.StatusCommandFailed
}

// runOp runs one VirMO or LAWMO operation on the VM.
func (m *MO) runOp(ctx context.Context, v vmTx, op string) error {
	switch op {
	case OpStart, OpStop, OpPause, OpResume:
		return m.runState(ctx, v, op)
	case OpLock, OpFullyLock:
		return m.setLock(ctx, v, LAWMOFullyLocked)
	case OpPartiallyLock:
		return m.setLock(ctx, v, LAWMOPartiallyLocked)
	case OpUnlock, OpUnLock:
		return m.setLock(ctx, v, LAWMOUnlocked)
	case OpRemove:
		return m.remove(ctx, v)
	case OpWipe, OpFactoryReset:
		return m.reset(ctx, v)
	}
	return dmtree.Errorf(syncml.StatusCommandNotAllowed, "unknown operation %q", op)
}

// remove deletes the VM from the hypervisor and its VirMO/<x> subtree.
func (m *MO) remove(ctx context.Context, v vmTx) error {
	if err := m.drv.Remove(ctx, v.name); err != nil && !errors.Is(err, hypervisor.ErrNotFound) {
		return err
	}
	return v.tx.Delete(v.uri(""))
}

// reset wipes the VM: it removes it and creates it again with the same name
// and Config, so the new VM starts from a fresh disk, stopped, with a new
// VMID. The lock state stays as it was: a locked VM is still locked after a
// wipe, and an unlock leaves it stopped.
func (m *MO) reset(ctx context.Context, v vmTx) error {
	vm, err := m.drv.Get(ctx, v.name)
	if err != nil {
		return err
	}
	if err := m.drv.Remove(ctx, v.name); err != nil {
		return err
	}
	created, err := m.drv.Create(ctx, v.name, vm.Config)
	if err != nil {
		return err
	}
	if v.locked() && v.lockLevel() == LAWMOPartiallyLocked {
		if err := m.drv.SetUserAccess(ctx, v.name, false); err != nil {
			return err
		}
	}

	if err := v.put(pathVMID, dmtree.FormatChr, created.UUID); err != nil {
		return err
	}
	if err := v.putBool(pathResumeOnUnlock, false); err != nil {
		return err
	}
	return v.putInt(pathState, int(created.State))
}
