package libvirt

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/virmo/virmo/hypervisor"
)

func TestBuildParseRoundTrip(t *testing.T) {
	tests := []domainSpec{
		{Name: "virmo-a", Config: hypervisor.Config{VCPUs: 1, MemoryMiB: 32}, UserAccess: true},
		{Name: "virmo-b", UUID: "2b46152a-569a-488f-af46-8a4ebf73eb0b",
			Config: hypervisor.Config{VCPUs: 4, MemoryMiB: 2048, Image: "/var/lib/vm/b.qcow2"}},
		{Name: "virmo-c", Config: hypervisor.Config{VCPUs: 2, MemoryMiB: 64, Image: "/srv/c & <d>.img"},
			UserAccess: true},
	}
	for _, spec := range tests {
		t.Run(spec.Name, func(t *testing.T) {
			def, err := buildDomainXML(spec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseDomainXML(def)
			if err != nil {
				t.Fatalf("parseDomainXML: %v\n%s", err, def)
			}
			want := parsedDomain{
				Name: spec.Name, UUID: spec.UUID, VCPUs: spec.Config.VCPUs,
				MemoryMiB: spec.Config.MemoryMiB, Image: spec.Config.Image,
				UserAccess: spec.UserAccess,
			}
			if got != want {
				t.Errorf("parsed = %+v, want %+v", got, want)
			}
		})
	}
}

// TestBuildDomainXMLDevices checks the parts of the definition that
// matter for safety: TCG, no network, VNC on loopback only.
func TestBuildDomainXMLDevices(t *testing.T) {
	def, err := buildDomainXML(domainSpec{Name: "virmo-a",
		Config: hypervisor.Config{VCPUs: 1, MemoryMiB: 32, Image: "/i/a.qcow2"}})
	if err != nil {
		t.Fatal(err)
	}
	var dom domainXML
	if err := xml.Unmarshal([]byte(def), &dom); err != nil {
		t.Fatal(err)
	}

	if dom.Type != "qemu" {
		t.Errorf("domain type = %q, want qemu", dom.Type)
	}
	if strings.Contains(def, "<interface") {
		t.Errorf("definition has a network interface:\n%s", def)
	}
	if g := dom.Devices.Graphics; g.Type != "vnc" || g.Listen != "127.0.0.1" || g.AutoPort != "yes" {
		t.Errorf("graphics = %+v, want VNC with autoport on 127.0.0.1", g)
	}
	for _, l := range dom.Devices.Graphics.Listens {
		if l.Address != "127.0.0.1" {
			t.Errorf("graphics listen address = %q, want 127.0.0.1", l.Address)
		}
	}
	if dom.Devices.Serial.Type != "pty" {
		t.Errorf("serial type = %q, want pty", dom.Devices.Serial.Type)
	}
	if len(dom.Devices.Disks) != 1 || dom.Devices.Disks[0].Driver.Type != "qcow2" {
		t.Errorf("disks = %+v, want one qcow2 disk", dom.Devices.Disks)
	}
}

func TestParseLibvirtOutput(t *testing.T) {
	// Trimmed from `virsh dumpxml --inactive` of libvirt 9.0.0.
	const out = `<domain type='qemu'>
  <name>virmo-x</name>
  <uuid>1a7073c0-3fee-4d39-94b5-9b158d0feddd</uuid>
  <metadata>
    <virmo:vm xmlns:virmo="urn:virmo:libvirt:1">
      <virmo:user-access>blocked</virmo:user-access>
    </virmo:vm>
  </metadata>
  <memory unit='KiB'>49152</memory>
  <currentMemory unit='KiB'>49152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <devices>
    <disk type='file' device='cdrom'><source file='/iso/a.iso'/></disk>
    <disk type='file' device='disk'><source file='/img/x.raw'/></disk>
  </devices>
</domain>`
	got, err := parseDomainXML(out)
	if err != nil {
		t.Fatal(err)
	}
	want := parsedDomain{Name: "virmo-x", UUID: "1a7073c0-3fee-4d39-94b5-9b158d0feddd",
		VCPUs: 2, MemoryMiB: 48, Image: "/img/x.raw", UserAccess: false}
	if got != want {
		t.Errorf("parsed = %+v, want %+v", got, want)
	}
}

func TestParseDomainXMLBadInput(t *testing.T) {
	tests := map[string]string{
		"empty":          ``,
		"not XML":        `hello`,
		"truncated":      `<domain><name>x</name>`,
		"wrong root":     `<network><name>x</name></network>`,
		"unknown unit":   `<domain><memory unit='parsecs'>1</memory></domain>`,
		"huge memory":    `<domain><memory unit='TiB'>99999999999</memory></domain>`,
		"memory not int": `<domain><memory unit='KiB'>lots</memory></domain>`,
		"vcpu not int":   `<domain><vcpu>two</vcpu></domain>`,
	}
	for name, input := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := parseDomainXML(input); err == nil {
				t.Errorf("parseDomainXML(%q) error = nil, want an error", input)
			}
		})
	}
}

func FuzzParseDomainXML(f *testing.F) {
	def, err := buildDomainXML(domainSpec{Name: "virmo-a",
		Config: hypervisor.Config{VCPUs: 1, MemoryMiB: 32, Image: "/a.img"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	f.Add(`<domain><memory unit='GiB'>2</memory></domain>`)
	f.Fuzz(func(t *testing.T, data string) {
		got, err := parseDomainXML(data)
		if err == nil && got.MemoryMiB < 0 {
			t.Errorf("MemoryMiB = %d, want >= 0", got.MemoryMiB)
		}
	})
}

func TestToMiB(t *testing.T) {
	tests := []struct {
		value uint64
		unit  string
		want  int
	}{
		{32768, "KiB", 32},
		{32768, "", 32},
		{32, "MiB", 32},
		{2, "GiB", 2048},
		{1, "TiB", 1 << 20},
		{33554432, "bytes", 32},
		{1500, "k", 1},
		{1000, "MB", 953},
	}
	for _, tt := range tests {
		got, err := toMiB(memoryXML{Unit: tt.unit, Value: tt.value})
		if err != nil {
			t.Errorf("toMiB(%d %s): %v", tt.value, tt.unit, err)
			continue
		}
		if got != tt.want {
			t.Errorf("toMiB(%d %s) = %d, want %d", tt.value, tt.unit, got, tt.want)
		}
	}
}

func TestRunState(t *testing.T) {
	tests := []struct {
		state  golibvirt.DomainState
		reason int32
		want   hypervisor.RunState
	}{
		{golibvirt.DomainRunning, 0, hypervisor.StateRunning},
		{golibvirt.DomainBlocked, 0, hypervisor.StateRunning},
		{golibvirt.DomainShutdown, 0, hypervisor.StateRunning},
		{golibvirt.DomainPaused, 0, hypervisor.StatePaused},
		{golibvirt.DomainPmsuspended, 0, hypervisor.StatePaused},
		{golibvirt.DomainShutoff, 1, hypervisor.StateStopped},
		{golibvirt.DomainShutoff, int32(golibvirt.DomainShutoffCrashed), hypervisor.StateFailed},
		{golibvirt.DomainCrashed, 0, hypervisor.StateFailed},
		{golibvirt.DomainNostate, 0, hypervisor.StateFailed},
	}
	for _, tt := range tests {
		if got := runState(tt.state, tt.reason); got != tt.want {
			t.Errorf("runState(%d, %d) = %s, want %s", tt.state, tt.reason, got, tt.want)
		}
	}
}

func TestCheckImage(t *testing.T) {
	tests := []struct {
		image string
		ok    bool
	}{
		{"", true},
		{"/var/lib/vm/a.qcow2", true},
		{"a.qcow2", false},
		{"/var/lib/../a.img", false},
		{"/var/lib/vm/", false},
	}
	for _, tt := range tests {
		err := checkImage(tt.image)
		if tt.ok && err != nil {
			t.Errorf("checkImage(%q) = %v, want nil", tt.image, err)
		}
		if !tt.ok && !errors.Is(err, hypervisor.ErrInvalidConfig) {
			t.Errorf("checkImage(%q) = %v, want ErrInvalidConfig", tt.image, err)
		}
	}
}

func TestTrimPrefix(t *testing.T) {
	d := &Driver{prefix: "virmo-"}
	tests := []struct {
		domain string
		name   string
		ok     bool
	}{
		{"virmo-vm1", "vm1", true},
		{"virmo-", "", false},
		{"other", "", false},
		{"virmovm1", "", false},
		{"virmo-a b", "", false},
	}
	for _, tt := range tests {
		name, ok := d.trimPrefix(tt.domain)
		if ok != tt.ok || ok && name != tt.name {
			t.Errorf("trimPrefix(%q) = %q, %v, want %q, %v", tt.domain, name, ok, tt.name, tt.ok)
		}
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"prefix with slash", Options{Prefix: "a/"}},
		{"remote URI", Options{URI: "qemu+tcp://192.0.2.1/system"}},
		{"other driver", Options{URI: "lxc:///"}},
	}
	for _, tt := range tests {
		// The socket path does not exist, so a bad option must be
		// rejected before any dial.
		_, err := Open(t.Context(), "/nonexistent/libvirt-sock", tt.opts)
		if err == nil || strings.Contains(err.Error(), "connect to") {
			t.Errorf("%s: Open error = %v, want an option error", tt.name, err)
		}
	}
}
