package virmo

import (
	"log/slog"

	"github.com/virmo/virmo/hypervisor"
)

// commitLog collects the log lines that describe the changes of a
// transaction, so they are written only once it commits.
type commitLog []func()

// info adds an Info line.
func (l *commitLog) info(logger *slog.Logger, msg string, args ...any) {
	*l = append(*l, func() { logger.Info(msg, args...) })
}

// flush writes the collected lines in order.
func (l commitLog) flush() {
	for _, write := range l {
		write()
	}
}

// checkConfig reports whether vm's configuration fits its Config nodes,
// and logs a warning for one that does not, once until it changes.
func (m *MO) checkConfig(v vmTx, vm hypervisor.VM) bool {
	err := vm.Config.Validate()
	if err == nil {
		if _, ok := m.warned[vm.Name]; ok {
			delete(m.warned, vm.Name)
			m.log.Info("VM configuration is in range again", "vm", vm.Name)
		}
		return true
	}
	if v.exists("") {
		m.warnOnce(vm.Name, "VM configuration out of range; its Config nodes keep "+
			"their last values until it is fixed", err)
	} else {
		m.warnOnce(vm.Name, "VM configuration out of range; VM not added to the tree "+
			"until it is fixed", err)
	}
	return false
}

// warnOnce logs a warning about the VM name unless the same warning was
// the last one logged for it, so a problem that lasts does not fill the
// log every sync interval.
func (m *MO) warnOnce(name, msg string, err error) {
	key := msg + ": " + err.Error()
	if m.warned[name] == key {
		return
	}
	m.warned[name] = key
	m.log.Warn(msg, "vm", name, "err", err)
}

// forgetVanished drops the warnings of VMs no longer in vms, so a VM that
// comes back under the same name is warned about again.
func (m *MO) forgetVanished(vms []hypervisor.VM) {
	present := make(map[string]bool, len(vms))
	for _, vm := range vms {
		present[vm.Name] = true
	}
	for name := range m.warned {
		if !present[name] {
			delete(m.warned, name)
		}
	}
}
