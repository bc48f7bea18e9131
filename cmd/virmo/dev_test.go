package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virmo/virmo/api"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// devRun is a "virmo dev" running in-process.
type devRun struct {
	dataDir string
	url     string
	token   string
	banner  *syncBuffer
	stop    func()
}

// startDev runs "virmo dev" with extraArgs on dataDir and a free loopback port and waits
// for its banner. The test's cleanup stops it.
func startDev(t *testing.T, dataDir string, extraArgs ...string) *devRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	root := newRootCommand()
	banner := &syncBuffer{}
	root.SetOut(banner)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(append([]string{"dev", "--data", dataDir, "--listen", "127.0.0.1:0", "--log-level", "error"},
		extraArgs...))
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("virmo dev: %v", err)
			}
		})
	}
	t.Cleanup(stop)

	waitUntil(t, "the dev banner", func() bool {
		select {
		case err := <-done:
			t.Fatalf("virmo dev ended early: %v", err)
		default:
		}
		return strings.Contains(banner.String(), "dev mode is running")
	})
	url, err := os.ReadFile(filepath.Join(dataDir, "server.url"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return &devRun{dataDir: dataDir, url: strings.TrimSpace(string(url)),
		token: strings.TrimSpace(string(token)), banner: banner, stop: stop}
}

// waitUntil polls cond until it holds, failing the test after a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// run runs a virmo operator command against the dev server.
func (d *devRun) run(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	args = append(args, "--server", d.url, "--token", d.token)
	return runRoot(t, stdin, args...)
}

// devDeviceID returns the device ID of the dev agent, found by the DevID
// in its enrollment marker, once the agent has reported its two VMs.
func (d *devRun) devDeviceID(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(d.dataDir, "agent", "enrolled"))
	if err != nil {
		t.Fatal(err)
	}
	var marker devEnrollment
	if err := json.Unmarshal(data, &marker); err != nil {
		t.Fatalf("enrollment marker: %v", err)
	}
	out, err := d.run(t, nil, "device", "list", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var devices []api.Device
	if err := json.Unmarshal([]byte(out), &devices); err != nil {
		t.Fatal(err)
	}
	for _, device := range devices {
		if device.DevID == marker.DevID {
			d.waitVMs(t, device.ID)
			return device.ID
		}
	}
	t.Fatalf("no device has the marker's DevID %s: %+v", marker.DevID, devices)
	return ""
}

// pollIntentsFast shortens the --wait poll interval for one test.
func pollIntentsFast(t *testing.T) {
	saved := intentPollInterval
	intentPollInterval = 20 * time.Millisecond
	t.Cleanup(func() { intentPollInterval = saved })
}

func TestDevRestartOnNewPortKeepsAgent(t *testing.T) {
	pollIntentsFast(t)
	dataDir := t.TempDir()
	first := startDev(t, dataDir)
	device := first.devDeviceID(t)

	// A second agent enrolls with the same server, so the dev agent is not
	// the only device when dev mode restarts.
	token, err := first.run(t, nil, "enroll-token", "create")
	if err != nil {
		t.Fatal(err)
	}
	_, err = runRoot(t, nil, "agent", "enroll", "--server", first.url, "--token", strings.TrimSpace(token),
		"--data", filepath.Join(t.TempDir(), "other"), "--name", "other")
	if err != nil {
		t.Fatalf("enroll a second agent: %v", err)
	}
	first.stop()

	// Holding the first port makes the restart pick another one.
	held, err := net.Listen("tcp", strings.TrimPrefix(first.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	second := startDev(t, dataDir)
	if second.url == first.url {
		t.Fatalf("restart kept the URL %s", first.url)
	}

	if got := second.devDeviceID(t); got != device {
		t.Errorf("device after restart is %s, want %s", got, device)
	}
	if !strings.Contains(second.banner.String(), "device         "+device+" ") {
		t.Errorf("banner does not name device %s:\n%s", device, second.banner.String())
	}
	if !strings.Contains(second.banner.String(), "enrolled again") {
		t.Errorf("banner does not say that the agent was enrolled again:\n%s", second.banner.String())
	}
	out, err := second.run(t, nil, "vm", "lock", device+"/vm1", "--wait")
	if err != nil {
		t.Fatalf("lock after restart: %v\n%s", err, out)
	}
	if !strings.Contains(out, "lock of "+device+"/vm1 done") {
		t.Errorf("lock --wait output lacks the outcome:\n%s", out)
	}
}

// waitVMs waits until the server lists the dev agent's VMs vm1 and vm2.
func (d *devRun) waitVMs(t *testing.T, device string) {
	t.Helper()
	waitUntil(t, "the dev VMs", func() bool {
		out, err := d.run(t, nil, "vm", "list", "--device", device, "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var vms []api.VM
		if err := json.Unmarshal([]byte(out), &vms); err != nil {
			t.Fatal(err)
		}
		return len(vms) == 2
	})
}

func TestDevSocketGroup(t *testing.T) {
	dataDir := t.TempDir()
	startDev(t, dataDir, "--socket-group", strconv.Itoa(os.Getgid()))
	socket := filepath.Join(dataDir, "agent", "unlock.sock")
	var info os.FileInfo
	waitUntil(t, "the unlock socket", func() bool {
		var err error
		info, err = os.Stat(socket)
		return err == nil
	})
	if mode := info.Mode().Perm(); mode != 0o660 {
		t.Errorf("unlock socket mode %v, want 0660", mode)
	}
}

func TestDevFlagsRejectedBeforeState(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--encoding", "json"}, `invalid --encoding "json": use xml or wbxml`},
		{[]string{"--auth", "sha1"}, `invalid --auth "sha1"`},
		{[]string{"--auth", "basic"}, "--auth basic needs --tls"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "dev")
			args := append([]string{"dev", "--data", dataDir, "--listen", "127.0.0.1:0"}, tt.args...)
			_, err := runRoot(t, nil, args...)
			if err == nil {
				t.Fatal("virmo dev started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if _, err := os.Stat(dataDir); err == nil {
				t.Errorf("virmo dev created %s before it rejected the flags", dataDir)
			}
		})
	}
}

func TestDevAuthChangeReenrolls(t *testing.T) {
	dataDir := t.TempDir()
	first := startDev(t, dataDir)
	device := first.devDeviceID(t)
	first.stop()

	second := startDev(t, dataDir, "--auth", "hmac")
	if !strings.Contains(second.banner.String(), "--auth hmac differs from the enrolled md5") {
		t.Errorf("banner does not say why the agent was enrolled again:\n%s", second.banner.String())
	}
	if got := second.devDeviceID(t); got != device {
		t.Errorf("device after the auth change is %s, want %s", got, device)
	}
	data, err := os.ReadFile(filepath.Join(dataDir, "agent", "enrolled"))
	if err != nil {
		t.Fatal(err)
	}
	var marker devEnrollment
	if err := json.Unmarshal(data, &marker); err != nil {
		t.Fatal(err)
	}
	if marker.Auth != "hmac" {
		t.Errorf("marker auth = %q, want hmac", marker.Auth)
	}
	second.stop()

	// A run without --auth keeps the enrolled hmac, even though the new
	// port makes it enroll again.
	third := startDev(t, dataDir)
	if strings.Contains(third.banner.String(), "--auth") {
		t.Errorf("a run without --auth changed the credential type:\n%s", third.banner.String())
	}
	data, err = os.ReadFile(filepath.Join(dataDir, "agent", "enrolled"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &marker); err != nil {
		t.Fatal(err)
	}
	if marker.Auth != "hmac" {
		t.Errorf("marker auth after a run without --auth = %q, want hmac", marker.Auth)
	}
}

func TestDevCommandName(t *testing.T) {
	tests := []struct {
		argv0 string
		want  string
	}{
		{"/tmp/go-build1234/b001/exe/virmo", "go run ./cmd/virmo"},
		{"", "go run ./cmd/virmo"},
		{"./virmo", "./virmo"},
		{"virmo", "virmo"},
	}
	for _, tt := range tests {
		if got := devCommandName(tt.argv0); got != tt.want {
			t.Errorf("devCommandName(%q) = %q, want %q", tt.argv0, got, tt.want)
		}
	}
}
