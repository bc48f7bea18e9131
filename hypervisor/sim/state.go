package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/virmo/virmo/hypervisor"
)

// File names inside the state directory.
const (
	stateFile  = "sim-state.json"
	lockFile   = "sim-state.lock"
	tempPrefix = ".sim-state-"
	tempSuffix = ".tmp"
)

// formatVersion is the version of the state file format.
const formatVersion = 1

// fileState is the content of the state file.
type fileState struct {
	Version int        `json:"version"`
	VMs     []vmRecord `json:"vms"`
}

// vmRecord is one VM in the state file.
type vmRecord struct {
	Name       string              `json:"name"`
	UUID       string              `json:"uuid"`
	State      hypervisor.RunState `json:"state"`
	Config     configRecord        `json:"config"`
	UserAccess bool                `json:"user_access"`
}

// configRecord is hypervisor.Config with JSON names.
type configRecord struct {
	VCPUs     int    `json:"vcpus"`
	MemoryMiB int    `json:"memory_mib"`
	Image     string `json:"image,omitempty"`
	AutoStart bool   `json:"autostart"`
}

func toRecord(cfg hypervisor.Config) configRecord {
	return configRecord(cfg)
}

func (r vmRecord) vm() hypervisor.VM {
	return hypervisor.VM{
		Name:   r.Name,
		UUID:   r.UUID,
		State:  r.State,
		Config: hypervisor.Config(r.Config),
	}
}

// find returns the index of the VM named name, or -1.
func (s *fileState) find(name string) int {
	return slices.IndexFunc(s.VMs, func(r vmRecord) bool { return r.Name == name })
}

// decodeState parses and checks a state file. It rejects unknown fields,
// trailing data, duplicate names or UUIDs, and invalid names, UUIDs,
// states or configurations, so a damaged file never loads half-way.
func decodeState(data []byte) (fileState, error) {
	var s fileState
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return fileState{}, fmt.Errorf("decode state: %w", err)
	}
	if dec.More() {
		return fileState{}, errors.New("decode state: trailing data after the JSON object")
	}
	if s.Version != formatVersion {
		return fileState{}, fmt.Errorf("decode state: version is %d, want %d",
			s.Version, formatVersion)
	}

	names := make(map[string]bool, len(s.VMs))
	uuids := make(map[string]bool, len(s.VMs))
	for i, r := range s.VMs {
		if err := checkRecord(r); err != nil {
			return fileState{}, fmt.Errorf("decode state: VM %d: %w", i, err)
		}
		if names[r.Name] {
			return fileState{}, fmt.Errorf("decode state: duplicate VM name %q", r.Name)
		}
		if uuids[r.UUID] {
			return fileState{}, fmt.Errorf("decode state: duplicate UUID %q", r.UUID)
		}
		names[r.Name] = true
		uuids[r.UUID] = true
	}
	return s, nil
}

func checkRecord(r vmRecord) error {
	if err := hypervisor.ValidateName(r.Name); err != nil {
		return err
	}
	if !validUUID(r.UUID) {
		return fmt.Errorf("invalid UUID %q", r.UUID)
	}
	if !r.State.Valid() {
		return fmt.Errorf("invalid state %d", int(r.State))
	}
	return hypervisor.Config(r.Config).Validate()
}

// encodeState returns the state file content with the VMs sorted by name.
func encodeState(s fileState) ([]byte, error) {
	s.Version = formatVersion
	s.VMs = slices.Clone(s.VMs)
	slices.SortFunc(s.VMs, func(a, b vmRecord) int { return strings.Compare(a.Name, b.Name) })
	if s.VMs == nil {
		s.VMs = []vmRecord{}
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return append(data, '\n'), nil
}

// readState loads the state file from dir. A missing file is an empty
// state.
func readState(dir string) (fileState, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return fileState{Version: formatVersion}, nil
	}
	if err != nil {
		return fileState{}, fmt.Errorf("read state: %w", err)
	}
	return decodeState(data)
}

// writeState replaces the state file atomically: it writes a temporary
// file in the same directory, syncs it, renames it over the state file
// and syncs the directory. A crash at any step leaves either the old or
// the new file in place, plus at most a stray temporary file that
// removeTempFiles deletes.
func writeState(dir string, s fileState) error {
	data, err := encodeState(s)
	if err != nil {
		return err
	}

	tmp, err := os.CreateTemp(dir, tempPrefix+"*"+tempSuffix)
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	tmpName := tmp.Name()
	if err := writeAndSync(tmp, data); err != nil {
		os.Remove(tmpName)
		return fmt.Errorf("write state %s: %w", tmpName, err)
	}

	if err := os.Rename(tmpName, filepath.Join(dir, stateFile)); err != nil {
		os.Remove(tmpName)
		return fmt.Errorf("write state: %w", err)
	}
	return syncDir(dir)
}

func writeAndSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	err = d.Sync()
	if closeErr := d.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// removeTempFiles deletes temporary files that a writer killed before its
// rename left behind. The caller holds the exclusive file lock, so no
// other writer is using them.
func removeTempFiles(dir string) error {
	names, err := filepath.Glob(filepath.Join(dir, tempPrefix+"*"+tempSuffix))
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stray temporary file: %w", err)
		}
	}
	return nil
}
