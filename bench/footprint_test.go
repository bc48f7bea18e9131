package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/virmo/virmo/apiclient"
)

// BenchmarkAgentFootprint builds virmo as a release would
// (go build -trimpath -ldflags=-s) and reports the binary's size. It then
// starts `virmo server` and an enrolled `virmo agent` with the sim driver
// and two VMs as processes on loopback, waits until the server lists both
// VMs (so the agent's first session has ended), and reports the agent's
// VmRSS from /proc/PID/status. Run it with -benchtime=1x; one operation
// is the whole sequence.
func BenchmarkAgentFootprint(b *testing.B) {
	var binarySize, agentRSS, serverRSS float64
	for b.Loop() {
		bin := filepath.Join(b.TempDir(), "virmo")
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s", "-o", bin, "../cmd/virmo")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("build virmo: %v\n%s", err, out)
		}
		info, err := os.Stat(bin)
		if err != nil {
			b.Fatal(err)
		}
		binarySize += float64(info.Size())

		serverDir := b.TempDir()
		server := startProcess(b, bin, "server", "--data", serverDir, "--listen", "127.0.0.1:0")
		url := waitFileContent(b, filepath.Join(serverDir, "server.url"))
		adminToken := waitFileContent(b, filepath.Join(serverDir, "admin.token"))
		client := apiclient.New(url, adminToken, newHTTPClient())
		ctx := context.Background()
		token, err := client.CreateEnrollToken(ctx, "bench", time.Hour)
		if err != nil {
			b.Fatalf("create enrollment token: %v", err)
		}

		agentDir := b.TempDir()
		enroll := exec.Command(bin, "agent", "enroll", "--data", agentDir, "--server", url,
			"--token", token.Token, "--name", "footprint")
		if out, err := enroll.CombinedOutput(); err != nil {
			b.Fatalf("virmo agent enroll: %v\n%s", err, out)
		}
		agent := startProcess(b, bin, "agent", "--data", agentDir, "--poll", "1h",
			"--ensure-vm", "vm1", "--ensure-vm", "vm2")
		waitUntil(b, "the server to list vm1 and vm2", func() bool {
			vms, err := client.ListVMs(ctx, "")
			return err == nil && len(vms) == 2
		})
		agentRSS += float64(residentBytes(b, strconv.Itoa(agent.Process.Pid)))
		serverRSS += float64(residentBytes(b, strconv.Itoa(server.Process.Pid)))
		stopProcess(agent)
		stopProcess(server)
	}
	n := float64(b.N)
	b.ReportMetric(binarySize/n, "binary-B")
	b.ReportMetric(agentRSS/n, "agent-rss-B")
	b.ReportMetric(serverRSS/n, "server-rss-B")
}

// startProcess starts bin with args; a cleanup stops it if it still runs.
func startProcess(b *testing.B, bin string, args ...string) *exec.Cmd {
	b.Helper()
	cmd := exec.Command(bin, args...)
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatalf("start virmo %s: %v", strings.Join(args, " "), err)
	}
	b.Cleanup(func() {
		stopProcess(cmd)
		if b.Failed() {
			b.Logf("output of virmo %s:\n%s", strings.Join(args, " "), logs.String())
		}
	})
	return cmd
}

// stopProcess sends SIGTERM, then SIGKILL after 15 s, and waits for the
// process to end. It does nothing for a process that was already waited
// for.
func stopProcess(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	timer := time.AfterFunc(15*time.Second, func() { _ = cmd.Process.Kill() })
	_ = cmd.Wait()
	timer.Stop()
}

// waitFileContent waits until path exists and is not empty and returns its
// trimmed content.
func waitFileContent(b *testing.B, path string) string {
	b.Helper()
	var content string
	waitUntil(b, "file "+path, func() bool {
		data, err := os.ReadFile(path)
		content = strings.TrimSpace(string(data))
		return err == nil && content != ""
	})
	return content
}

// waitUntil polls cond every 20 ms and fails after one minute, a bound
// that only stops a hung run.
func waitUntil(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockedBuffer collects a process's output from two pipes at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
