package hypervisor

import (
	"errors"
	"strings"
	"testing"
)

func TestNextTransitions(t *testing.T) {
	tests := []struct {
		op      Op
		from    RunState
		want    RunState
		wantErr bool
	}{
		{OpStart, StateStopped, StateRunning, false},
		{OpStart, StateFailed, StateRunning, false},
		{OpStart, StateRunning, StateRunning, false},
		{OpStart, StatePaused, StatePaused, true},
		{OpStop, StateRunning, StateStopped, false},
		{OpStop, StatePaused, StateStopped, false},
		{OpStop, StateFailed, StateStopped, false},
		{OpStop, StateStopped, StateStopped, false},
		{OpPause, StateRunning, StatePaused, false},
		{OpPause, StatePaused, StatePaused, false},
		{OpPause, StateStopped, StateStopped, true},
		{OpPause, StateFailed, StateFailed, true},
		{OpResume, StatePaused, StateRunning, false},
		{OpResume, StateRunning, StateRunning, false},
		{OpResume, StateStopped, StateStopped, true},
		{OpResume, StateFailed, StateFailed, true},
		{OpStop, RunState(0), RunState(0), true},
		{Op(0), StateRunning, StateRunning, true},
	}
	for _, tt := range tests {
		t.Run(tt.op.String()+"/"+tt.from.String(), func(t *testing.T) {
			got, err := Next(tt.op, tt.from)
			if got != tt.want {
				t.Errorf("Next(%s, %s) = %s, want %s", tt.op, tt.from, got, tt.want)
			}
			if tt.wantErr && !errors.Is(err, ErrInvalidState) {
				t.Errorf("Next(%s, %s) error = %v, want ErrInvalidState", tt.op, tt.from, err)
			}
			if !tt.wantErr && err != nil {
				t.Errorf("Next(%s, %s) error = %v, want nil", tt.op, tt.from, err)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"vm1", true},
		{"Web_01.prod-a", true},
		{strings.Repeat("a", MaxNameLen), true},
		{"", false},
		{strings.Repeat("a", MaxNameLen+1), false},
		{".hidden", false},
		{"-flag", false},
		{"a/b", false},
		{"a b", false},
		{"vm\x00", false},
		{"vmé", false},
		{"..", false},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		if tt.ok && err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", tt.name, err)
		}
		if !tt.ok && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", tt.name, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Config{VCPUs: 1, MemoryMiB: 32}, true},
		{Config{VCPUs: 4, MemoryMiB: 4096, Image: "/img.qcow2", AutoStart: true}, true},
		{Config{VCPUs: 0, MemoryMiB: 32}, false},
		{Config{VCPUs: -1, MemoryMiB: 32}, false},
		{Config{VCPUs: 1, MemoryMiB: 0}, false},
		{Config{}, false},
		{Config{VCPUs: MaxVCPUs, MemoryMiB: MaxMemoryMiB}, true},
		{Config{VCPUs: MaxVCPUs + 1, MemoryMiB: 32}, false},
		{Config{VCPUs: 1, MemoryMiB: MaxMemoryMiB + 1}, false},
		{Config{VCPUs: 1, MemoryMiB: 99999999999}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if tt.ok && err != nil {
			t.Errorf("%+v.Validate() = %v, want nil", tt.cfg, err)
		}
		if !tt.ok && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v.Validate() = %v, want ErrInvalidConfig", tt.cfg, err)
		}
	}
}

func TestConfigValidateNamesValue(t *testing.T) {
	err := Config{VCPUs: 1, MemoryMiB: 99999999999}.Validate()
	if err == nil || !strings.Contains(err.Error(), "99999999999") {
		t.Errorf("Validate() = %v, want an error naming 99999999999", err)
	}
}
