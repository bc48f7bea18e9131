package libvirt

import (
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/virmo/virmo/hypervisor"
)

// MetadataNamespace is the XML namespace of VirMO's element in a domain's
// <metadata>.
const MetadataNamespace = "urn:virmo:libvirt:1"

// metadataPrefix is the namespace prefix libvirt writes for
// MetadataNamespace.
const metadataPrefix = "virmo"

// Values of the user-access metadata element.
const (
	accessAllowed = "allowed"
	accessBlocked = "blocked"
)

// domainSpec is the part of a domain definition that VirMO sets.
type domainSpec struct {
	Name       string // the libvirt name, with the prefix
	UUID       string // empty lets libvirt choose one
	Config     hypervisor.Config
	UserAccess bool
}

// domainXML is the subset of the libvirt domain XML format that VirMO
// writes. Domains are of type qemu, which is TCG emulation without KVM.
type domainXML struct {
	XMLName  xml.Name   `xml:"domain"`
	Type     string     `xml:"type,attr"`
	Name     string     `xml:"name"`
	UUID     string     `xml:"uuid,omitempty"`
	Metadata innerXML   `xml:"metadata"`
	Memory   memoryXML  `xml:"memory"`
	VCPU     int        `xml:"vcpu"`
	OS       osXML      `xml:"os"`
	Devices  devicesXML `xml:"devices"`
}

type innerXML struct {
	Inner string `xml:",innerxml"`
}

type memoryXML struct {
	Unit  string `xml:"unit,attr"`
	Value uint64 `xml:",chardata"`
}

type osXML struct {
	Type struct {
		Arch  string `xml:"arch,attr"`
		Value string `xml:",chardata"`
	} `xml:"type"`
}

type devicesXML struct {
	Disks    []diskXML   `xml:"disk"`
	Serial   charDevXML  `xml:"serial"`
	Console  charDevXML  `xml:"console"`
	Graphics graphicsXML `xml:"graphics"`
	Balloon  struct {
		Model string `xml:"model,attr"`
	} `xml:"memballoon"`
}

type diskXML struct {
	Type   string `xml:"type,attr"`
	Device string `xml:"device,attr"`
	Driver struct {
		Name string `xml:"name,attr"`
		Type string `xml:"type,attr"`
	} `xml:"driver"`
	Source struct {
		File string `xml:"file,attr"`
	} `xml:"source"`
	Target struct {
		Dev string `xml:"dev,attr"`
		Bus string `xml:"bus,attr"`
	} `xml:"target"`
}

type charDevXML struct {
	Type   string `xml:"type,attr"`
	Target struct {
		Type string `xml:"type,attr,omitempty"`
		Port int    `xml:"port,attr"`
	} `xml:"target"`
}

type graphicsXML struct {
	Type     string `xml:"type,attr"`
	AutoPort string `xml:"autoport,attr"`
	Listen   string `xml:"listen,attr"`
	Listens  []struct {
		Type    string `xml:"type,attr"`
		Address string `xml:"address,attr"`
	} `xml:"listen"`
}

// userAccessXML returns VirMO's metadata element without the namespace,
// as DomainSetMetadata expects it.
func userAccessXML(allowed bool) string {
	return "<vm><user-access>" + accessValue(allowed) + "</user-access></vm>"
}

// checkImage checks that image is empty or an absolute file path.
func checkImage(image string) error {
	if image == "" || filepath.IsAbs(image) && filepath.Clean(image) == image {
		return nil
	}
	return fmt.Errorf("%w: Image %q must be an absolute, clean file path or empty",
		hypervisor.ErrInvalidConfig, image)
}

// imageFormat returns the QEMU disk format of image from its extension:
// qcow2 for ".qcow2", raw for anything else.
func imageFormat(image string) string {
	if strings.EqualFold(filepath.Ext(image), ".qcow2") {
		return "qcow2"
	}
	return "raw"
}

// buildDomainXML returns the definition of a domain: spec.Config's vCPUs
// and memory, an optional disk, no network interface, a serial console on
// a pty and VNC graphics that listen on 127.0.0.1 only.
func buildDomainXML(spec domainSpec) (string, error) {
	dom := domainXML{
		Type:   "qemu",
		Name:   spec.Name,
		UUID:   spec.UUID,
		Memory: memoryXML{Unit: "MiB", Value: uint64(spec.Config.MemoryMiB)},
		VCPU:   spec.Config.VCPUs,
	}
	dom.Metadata.Inner = fmt.Sprintf(
		`<%[1]s:vm xmlns:%[1]s="%[2]s"><%[1]s:user-access>%[3]s</%[1]s:user-access></%[1]s:vm>`,
		metadataPrefix, MetadataNamespace, accessValue(spec.UserAccess))
	dom.OS.Type.Arch = "x86_64"
	dom.OS.Type.Value = "hvm"

	if image := spec.Config.Image; image != "" {
		var disk diskXML
		disk.Type = "file"
		disk.Device = "disk"
		disk.Driver.Name = "qemu"
		disk.Driver.Type = imageFormat(image)
		disk.Source.File = image
		disk.Target.Dev = "vda"
		disk.Target.Bus = "virtio"
		dom.Devices.Disks = []diskXML{disk}
	}

	dom.Devices.Serial.Type = "pty"
	dom.Devices.Console.Type = "pty"
	dom.Devices.Console.Target.Type = "serial"

	// Libvirt chooses the VNC port (autoport). The listen attribute and
	// element both name loopback, so the display is never on the network.
	dom.Devices.Graphics = graphicsXML{Type: "vnc", AutoPort: "yes", Listen: "127.0.0.1"}
	dom.Devices.Graphics.Listens = append(dom.Devices.Graphics.Listens, struct {
		Type    string `xml:"type,attr"`
		Address string `xml:"address,attr"`
	}{"address", "127.0.0.1"})
	dom.Devices.Balloon.Model = "none"

	out, err := xml.MarshalIndent(dom, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode domain XML of %s: %w", spec.Name, err)
	}
	return string(out), nil
}

func accessValue(allowed bool) string {
	if allowed {
		return accessAllowed
	}
	return accessBlocked
}

// parsedDomain is the configuration that VirMO reads back from a
// domain's XML.
type parsedDomain struct {
	Name       string
	UUID       string
	VCPUs      int
	MemoryMiB  int
	Image      string
	UserAccess bool
}

// domainReadXML is the subset of libvirt's domain XML that
// parseDomainXML reads.
type domainReadXML struct {
	XMLName xml.Name  `xml:"domain"`
	Name    string    `xml:"name"`
	UUID    string    `xml:"uuid"`
	Memory  memoryXML `xml:"memory"`
	VCPU    struct {
		Value int `xml:",chardata"`
	} `xml:"vcpu"`
	Metadata struct {
		VM struct {
			UserAccess string `xml:"urn:virmo:libvirt:1 user-access"`
		} `xml:"urn:virmo:libvirt:1 vm"`
	} `xml:"metadata"`
	Devices struct {
		Disks []diskXML `xml:"disk"`
	} `xml:"devices"`
}

// parseDomainXML reads the configuration from a domain's XML. User access
// counts as allowed unless the metadata contains "blocked".
func parseDomainXML(data string) (parsedDomain, error) {
	var dom domainReadXML
	if err := xml.Unmarshal([]byte(data), &dom); err != nil {
		return parsedDomain{}, fmt.Errorf("decode domain XML: %w", err)
	}
	memoryMiB, err := toMiB(dom.Memory)
	if err != nil {
		return parsedDomain{}, fmt.Errorf("decode domain XML of %q: %w", dom.Name, err)
	}

	p := parsedDomain{
		Name:       dom.Name,
		UUID:       dom.UUID,
		VCPUs:      dom.VCPU.Value,
		MemoryMiB:  memoryMiB,
		UserAccess: strings.TrimSpace(dom.Metadata.VM.UserAccess) != accessBlocked,
	}
	for _, disk := range dom.Devices.Disks {
		if disk.Device == "disk" || disk.Device == "" {
			p.Image = disk.Source.File
			break
		}
	}
	return p, nil
}

// unitBytes maps the memory units of libvirt's domain XML format to
// their size in bytes. Libvirt itself writes KiB.
var unitBytes = map[string]uint64{
	"b": 1, "bytes": 1,
	"KB": 1000, "k": 1024, "KiB": 1024,
	"MB": 1000 * 1000, "M": 1 << 20, "MiB": 1 << 20,
	"GB": 1000 * 1000 * 1000, "G": 1 << 30, "GiB": 1 << 30,
	"TB": 1000 * 1000 * 1000 * 1000, "T": 1 << 40, "TiB": 1 << 40,
}

// toMiB converts a memory element to MiB, rounding down. An absent unit
// means KiB, as in libvirt.
func toMiB(m memoryXML) (int, error) {
	unit := m.Unit
	if unit == "" {
		unit = "KiB"
	}
	size, ok := unitBytes[unit]
	if !ok {
		return 0, fmt.Errorf("unknown memory unit %q", m.Unit)
	}
	const maxBytes = 1 << 60 // far above any host, and safe to convert to int
	if m.Value > maxBytes/size {
		return 0, fmt.Errorf("memory %d %s is out of range", m.Value, unit)
	}
	mib := m.Value * size >> 20
	return int(mib), nil
}
