package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/virmo/virmo/ddf"
)

// runRoot runs the root command with args and returns its standard output.
func runRoot(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetIn(bytes.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestDDFCommand(t *testing.T) {
	tests := []struct {
		args  []string
		roots []string
	}{
		{[]string{"ddf"}, []string{"DevInfo", "DevDetail", "DMAcc", "VirMO"}},
		{[]string{"ddf", "virmo"}, []string{"VirMO"}},
		{[]string{"ddf", "LAWMO"}, []string{"LAWMO"}},
		{[]string{"ddf", "DevInfo"}, []string{"DevInfo"}},
		{[]string{"ddf", "dmacc"}, []string{"DMAcc"}},
		{[]string{"ddf", "DEVDETAIL"}, []string{"DevDetail"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := runRoot(t, nil, tt.args...)
			if err != nil {
				t.Fatalf("virmo %s: %v", strings.Join(tt.args, " "), err)
			}
			defs, err := ddf.Unmarshal([]byte(out))
			if err != nil {
				t.Fatalf("output is not a valid DDF: %v", err)
			}
			var roots []string
			for _, d := range defs {
				roots = append(roots, d.Name)
			}
			if got, want := strings.Join(roots, " "), strings.Join(tt.roots, " "); got != want {
				t.Errorf("top-level nodes = %s, want %s", got, want)
			}
		})
	}
}

func TestDDFLAWMONamesMount(t *testing.T) {
	all, err := runRoot(t, nil, "ddf")
	if err != nil {
		t.Fatalf("virmo ddf: %v", err)
	}
	if strings.Contains(all, "<!--") {
		t.Errorf("virmo ddf output has a mount comment, want none")
	}
	out, err := runRoot(t, nil, "ddf", "lawmo")
	if err != nil {
		t.Fatalf("virmo ddf lawmo: %v", err)
	}
	if !strings.Contains(out, "<!-- The agent mounts this MO below ./VirMO/<x>/DM, once per VM. -->") {
		t.Errorf("virmo ddf lawmo output lacks the mount comment:\n%.400s", out)
	}
	if _, err := ddf.Unmarshal([]byte(out)); err != nil {
		t.Errorf("virmo ddf lawmo output is not a valid DDF: %v", err)
	}
}

func TestDDFCommandUnknownMO(t *testing.T) {
	_, err := runRoot(t, nil, "ddf", "FUMO")
	if err == nil {
		t.Fatal("virmo ddf FUMO succeeded, want an error")
	}
	for _, name := range []string{"DevInfo", "DevDetail", "DMAcc", "LAWMO", "VirMO"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not list %s", err, name)
		}
	}
}
