package libvirt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/virmo/virmo/hypervisor"
)

// List returns the VMs of every domain whose name has the driver's
// prefix, sorted by name. Other domains are left out.
func (d *Driver) List(ctx context.Context) ([]hypervisor.VM, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	doms, _, err := d.conn.ConnectListAllDomains(1, 0)
	if err != nil {
		return nil, fmt.Errorf("libvirt: list domains: %w", err)
	}

	vms := []hypervisor.VM{}
	for _, dom := range doms {
		name, ok := d.trimPrefix(dom.Name)
		if !ok {
			continue
		}
		vm, err := d.describe(name, dom)
		if errors.Is(err, hypervisor.ErrNotFound) {
			continue // removed since the list call
		}
		if err != nil {
			return nil, err
		}
		vms = append(vms, vm)
	}
	slices.SortFunc(vms, func(a, b hypervisor.VM) int { return strings.Compare(a.Name, b.Name) })
	return vms, nil
}

// Get returns the VM named name, or hypervisor.ErrNotFound.
func (d *Driver) Get(ctx context.Context, name string) (hypervisor.VM, error) {
	dom, err := d.lookup(ctx, name)
	if err != nil {
		return hypervisor.VM{}, err
	}
	return d.describe(name, dom)
}

// describe reads the state and the persistent configuration of a domain.
// Config is the inactive definition, which applies at the next start.
func (d *Driver) describe(name string, dom golibvirt.Domain) (hypervisor.VM, error) {
	state, reason, err := d.conn.DomainGetState(dom, 0)
	if err != nil {
		return hypervisor.VM{}, mapError(name, err)
	}
	parsed, err := d.definition(name, dom)
	if err != nil {
		return hypervisor.VM{}, err
	}
	autostart, err := d.conn.DomainGetAutostart(dom)
	if err != nil {
		return hypervisor.VM{}, mapError(name, err)
	}

	return hypervisor.VM{
		Name:  name,
		UUID:  parsed.UUID,
		State: runState(golibvirt.DomainState(state), reason),
		Config: hypervisor.Config{
			VCPUs:     parsed.VCPUs,
			MemoryMiB: parsed.MemoryMiB,
			Image:     parsed.Image,
			AutoStart: autostart != 0,
		},
	}, nil
}

// definition returns the domain's inactive (persistent) definition.
func (d *Driver) definition(name string, dom golibvirt.Domain) (parsedDomain, error) {
	data, err := d.conn.DomainGetXMLDesc(dom, golibvirt.DomainXMLInactive)
	if err != nil {
		return parsedDomain{}, mapError(name, err)
	}
	parsed, err := parseDomainXML(data)
	if err != nil {
		return parsedDomain{}, fmt.Errorf("libvirt, VM %q: %w", name, err)
	}
	return parsed, nil
}

// Create defines a stopped domain named with the driver's prefix, with
// user access allowed and autostart as in cfg. It returns
// hypervisor.ErrExists if the name is taken, and an error wrapping
// hypervisor.ErrInvalidName or hypervisor.ErrInvalidConfig for bad input,
// including an Image that is not an absolute path.
func (d *Driver) Create(ctx context.Context, name string, cfg hypervisor.Config) (hypervisor.VM, error) {
	if err := checkInput(name, cfg); err != nil {
		return hypervisor.VM{}, err
	}
	if err := ctx.Err(); err != nil {
		return hypervisor.VM{}, err
	}
	_, err := d.conn.DomainLookupByName(d.prefix + name)
	if err == nil {
		return hypervisor.VM{}, fmt.Errorf("%w: %q", hypervisor.ErrExists, name)
	}
	if !golibvirt.IsNotFound(err) {
		return hypervisor.VM{}, mapError(name, err)
	}

	def, err := buildDomainXML(domainSpec{Name: d.prefix + name, Config: cfg, UserAccess: true})
	if err != nil {
		return hypervisor.VM{}, err
	}
	dom, err := d.conn.DomainDefineXMLFlags(def, golibvirt.DomainDefineValidate)
	if err != nil {
		// Libvirt reports a name taken since the lookup as a generic
		// failure, so look again.
		if _, lookupErr := d.conn.DomainLookupByName(d.prefix + name); lookupErr == nil {
			return hypervisor.VM{}, fmt.Errorf("%w: %q", hypervisor.ErrExists, name)
		}
		return hypervisor.VM{}, mapError(name, err)
	}

	// Undefine the new domain if autostart fails, so a failed Create
	// leaves nothing behind.
	if err := d.setAutostart(dom, cfg.AutoStart); err != nil {
		if undefErr := d.conn.DomainUndefineFlags(dom, undefineFlags); undefErr != nil {
			d.log.Error("undefine domain after failed create", "vm", name, "err", undefErr)
		}
		return hypervisor.VM{}, mapError(name, err)
	}

	d.log.Info("VM created", "vm", name, "domain", dom.Name)
	return d.describe(name, dom)
}

func checkInput(name string, cfg hypervisor.Config) error {
	if err := hypervisor.ValidateName(name); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	return checkImage(cfg.Image)
}

func (d *Driver) setAutostart(dom golibvirt.Domain, on bool) error {
	var value int32
	if on {
		value = 1
	}
	return d.conn.DomainSetAutostart(dom, value)
}

// undefineFlags also removes what libvirt keeps beside a definition:
// managed save images, snapshot and checkpoint metadata and NVRAM.
const undefineFlags = golibvirt.DomainUndefineManagedSave |
	golibvirt.DomainUndefineSnapshotsMetadata |
	golibvirt.DomainUndefineCheckpointsMetadata |
	golibvirt.DomainUndefineNvram

// Remove powers off the domain if it is active and undefines it. It does
// not delete the disk image.
func (d *Driver) Remove(ctx context.Context, name string) error {
	dom, err := d.lookup(ctx, name)
	if err != nil {
		return err
	}
	active, err := d.conn.DomainIsActive(dom)
	if err != nil {
		return mapError(name, err)
	}
	if active != 0 {
		if err := d.conn.DomainDestroy(dom); err != nil {
			return mapError(name, err)
		}
	}
	if err := d.conn.DomainUndefineFlags(dom, undefineFlags); err != nil {
		return mapError(name, err)
	}
	d.log.Info("VM removed", "vm", name)
	return nil
}

// SetConfig redefines the domain with cfg, keeping its UUID and user
// access. A running domain keeps its current resources until its next
// start, as libvirt does for a redefined active domain.
func (d *Driver) SetConfig(ctx context.Context, name string, cfg hypervisor.Config) error {
	if err := checkInput(name, cfg); err != nil {
		return err
	}
	dom, err := d.lookup(ctx, name)
	if err != nil {
		return err
	}
	current, err := d.definition(name, dom)
	if err != nil {
		return err
	}

	def, err := buildDomainXML(domainSpec{
		Name:       d.prefix + name,
		UUID:       current.UUID,
		Config:     cfg,
		UserAccess: current.UserAccess,
	})
	if err != nil {
		return err
	}
	if _, err := d.conn.DomainDefineXMLFlags(def, golibvirt.DomainDefineValidate); err != nil {
		return mapError(name, err)
	}
	if err := d.setAutostart(dom, cfg.AutoStart); err != nil {
		return mapError(name, err)
	}
	d.log.Info("VM configuration set", "vm", name)
	return nil
}

// Start boots a stopped or failed domain. See hypervisor.Next for the
// rules.
func (d *Driver) Start(ctx context.Context, name string) error {
	return d.transition(ctx, name, hypervisor.OpStart)
}

// Stop powers the domain off at once (virDomainDestroy), without asking
// the guest to shut down. A domain that crashed and that libvirt already
// powered off stays as it is and keeps reporting hypervisor.StateFailed.
func (d *Driver) Stop(ctx context.Context, name string) error {
	return d.transition(ctx, name, hypervisor.OpStop)
}

// Pause suspends a running domain (virDomainSuspend).
func (d *Driver) Pause(ctx context.Context, name string) error {
	return d.transition(ctx, name, hypervisor.OpPause)
}

// Resume continues a paused domain (virDomainResume).
func (d *Driver) Resume(ctx context.Context, name string) error {
	return d.transition(ctx, name, hypervisor.OpResume)
}

func (d *Driver) transition(ctx context.Context, name string, op hypervisor.Op) error {
	dom, err := d.lookup(ctx, name)
	if err != nil {
		return err
	}
	state, reason, err := d.conn.DomainGetState(dom, 0)
	if err != nil {
		return mapError(name, err)
	}
	from := runState(golibvirt.DomainState(state), reason)
	next, err := hypervisor.Next(op, from)
	if err != nil {
		return fmt.Errorf("%s VM %q: %w", op, name, err)
	}
	if next == from {
		return nil
	}

	switch op {
	case hypervisor.OpStart:
		err = d.start(dom, golibvirt.DomainState(state))
	case hypervisor.OpStop:
		// A domain that crashed and was powered off is already off,
		// so only an active one needs destroying.
		if golibvirt.DomainState(state) != golibvirt.DomainShutoff {
			err = d.conn.DomainDestroy(dom)
		}
	case hypervisor.OpPause:
		err = d.conn.DomainSuspend(dom)
	case hypervisor.OpResume:
		err = d.conn.DomainResume(dom)
	}
	if err != nil {
		return mapError(name, err)
	}
	d.log.Info("VM state changed", "vm", name, "op", op.String(), "from", from.String(),
		"to", next.String())
	return nil
}

// start boots a domain. A crashed domain that libvirt kept active is
// destroyed first, because libvirt starts only inactive domains.
func (d *Driver) start(dom golibvirt.Domain, state golibvirt.DomainState) error {
	if state == golibvirt.DomainCrashed || state == golibvirt.DomainNostate {
		if err := d.conn.DomainDestroy(dom); err != nil {
			return err
		}
	}
	return d.conn.DomainCreate(dom)
}

// SetUserAccess records whether user access is allowed in VirMO's element
// of the domain metadata, in the persistent definition and, while the
// domain is active, in the live one.
//
// NOTE: this only records the flag. The serial console pty and the VNC
// display on 127.0.0.1 stay open while access is blocked, so a partial
// lock does not yet keep out a user who can reach them.
func (d *Driver) SetUserAccess(ctx context.Context, name string, allowed bool) error {
	dom, err := d.lookup(ctx, name)
	if err != nil {
		return err
	}
	active, err := d.conn.DomainIsActive(dom)
	if err != nil {
		return mapError(name, err)
	}
	impact := golibvirt.DomainAffectConfig
	if active != 0 {
		impact |= golibvirt.DomainAffectLive
	}

	err = d.conn.DomainSetMetadata(dom, int32(golibvirt.DomainMetadataElement),
		golibvirt.OptString{userAccessXML(allowed)}, golibvirt.OptString{metadataPrefix},
		golibvirt.OptString{MetadataNamespace}, impact)
	if err != nil {
		return mapError(name, err)
	}
	d.log.Info("VM user access set", "vm", name, "allowed", allowed)
	return nil
}

// UserAccess reports whether user access to the VM is allowed, as
// recorded by SetUserAccess in the current (live if active) definition.
// A domain without VirMO metadata counts as allowed.
func (d *Driver) UserAccess(ctx context.Context, name string) (bool, error) {
	dom, err := d.lookup(ctx, name)
	if err != nil {
		return false, err
	}
	data, err := d.conn.DomainGetXMLDesc(dom, 0)
	if err != nil {
		return false, mapError(name, err)
	}
	parsed, err := parseDomainXML(data)
	if err != nil {
		return false, fmt.Errorf("libvirt, VM %q: %w", name, err)
	}
	return parsed.UserAccess, nil
}
