package sim

import (
	"bytes"
	"testing"

	"github.com/virmo/virmo/hypervisor"
)

const goodUUID = "0b3c6f1e-2d4a-4c5b-9e8f-7a6b5c4d3e2f"

func TestDecodeStateBadInput(t *testing.T) {
	vm := func(name, uuid, rest string) string {
		return `{"name":"` + name + `","uuid":"` + uuid + `",` + rest + `}`
	}
	good := `"state":10,"config":{"vcpus":1,"memory_mib":32},"user_access":true`
	tests := map[string]string{
		"empty":         ``,
		"not JSON":      `hello`,
		"truncated":     `{"version":1,"vms":[`,
		"trailing data": `{"version":1,"vms":[]} {}`,
		"wrong version": `{"version":2,"vms":[]}`,
		"missing":       `{"vms":[]}`,
		"unknown field": `{"version":1,"vms":[],"extra":1}`,
		"vms not array": `{"version":1,"vms":{}}`,
		"bad name":      `{"version":1,"vms":[` + vm("a/b", goodUUID, good) + `]}`,
		"empty name":    `{"version":1,"vms":[` + vm("", goodUUID, good) + `]}`,
		"bad UUID":      `{"version":1,"vms":[` + vm("a", "xyz", good) + `]}`,
		"undefined state": `{"version":1,"vms":[` + vm("a", goodUUID,
			`"state":11,"config":{"vcpus":1,"memory_mib":32}`) + `]}`,
		"zero vcpus": `{"version":1,"vms":[` + vm("a", goodUUID,
			`"state":10,"config":{"vcpus":0,"memory_mib":32}`) + `]}`,
		"duplicate name": `{"version":1,"vms":[` + vm("a", goodUUID, good) + `,` +
			vm("a", "1b3c6f1e-2d4a-4c5b-9e8f-7a6b5c4d3e2f", good) + `]}`,
		"duplicate UUID": `{"version":1,"vms":[` + vm("a", goodUUID, good) + `,` +
			vm("b", goodUUID, good) + `]}`,
		"state as string": `{"version":1,"vms":[` + vm("a", goodUUID,
			`"state":"running","config":{"vcpus":1,"memory_mib":32}`) + `]}`,
	}
	for name, input := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeState([]byte(input)); err == nil {
				t.Errorf("decodeState(%q) error = nil, want an error", input)
			}
		})
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	in := fileState{VMs: []vmRecord{
		{Name: "b", UUID: newUUID(), State: hypervisor.StatePaused,
			Config: configRecord{VCPUs: 2, MemoryMiB: 64, Image: "/i.img", AutoStart: true}},
		{Name: "a", UUID: newUUID(), State: hypervisor.StateRunning,
			Config: configRecord{VCPUs: 1, MemoryMiB: 32}, UserAccess: true},
	}}
	data, err := encodeState(in)
	if err != nil {
		t.Fatal(err)
	}

	out, err := decodeState(data)
	if err != nil {
		t.Fatalf("decodeState: %v", err)
	}
	if len(out.VMs) != 2 {
		t.Fatalf("decoded %d VMs, want 2", len(out.VMs))
	}
	if out.VMs[0] != in.VMs[1] {
		t.Errorf("first VM = %+v, want %+v", out.VMs[0], in.VMs[1])
	}
	if out.VMs[1] != in.VMs[0] {
		t.Errorf("second VM = %+v, want %+v", out.VMs[1], in.VMs[0])
	}
}

func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"version":1,"vms":[]}`))
	f.Add([]byte(`{"version":1,"vms":[{"name":"a","uuid":"` + goodUUID +
		`","state":20,"config":{"vcpus":1,"memory_mib":32},"user_access":true}]}`))
	f.Add([]byte(`{"version":1,"vms":[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeState(data)
		if err != nil {
			return
		}

		// A state that decodes must encode and decode to the same VMs.
		encoded, err := encodeState(s)
		if err != nil {
			t.Fatalf("encodeState of a decoded state: %v", err)
		}
		again, err := decodeState(encoded)
		if err != nil {
			t.Fatalf("decodeState of an encoded state: %v", err)
		}
		reencoded, err := encodeState(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(encoded, reencoded) {
			t.Errorf("encoding is not stable:\n%s\n%s", encoded, reencoded)
		}
	})
}

func TestNewUUIDFormat(t *testing.T) {
	for range 100 {
		u := newUUID()
		if !validUUID(u) {
			t.Fatalf("newUUID() = %q, not a canonical UUID", u)
		}
		if u[14] != '4' {
			t.Fatalf("newUUID() = %q, version digit is %c, want 4", u, u[14])
		}
		if !bytes.ContainsRune([]byte("89ab"), rune(u[19])) {
			t.Fatalf("newUUID() = %q, variant digit is %c, want 8, 9, a or b", u, u[19])
		}
	}
}
