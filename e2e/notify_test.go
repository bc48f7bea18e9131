package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// notifyRounds is how many locks each transport variant measures.
const notifyRounds = 20

// notifyMinInterval is the agent's default NotifyMinInterval: it starts
// two notified sessions at least this far apart.
const notifyMinInterval = time.Second

func TestNotifiedLockReachesIdleAgent(t *testing.T) {
	cases := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"long-poll", func(*testing.T) []string { return []string{"--notify-long-poll"} }},
		{"udp", func(t *testing.T) []string { return []string{"--notify-udp", freeUDPAddr(t)} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFleet(t)
			// A one-hour poll: only a notification can bring the lock in time
			// for the test to end.
			f.agentArgs = append([]string{"agent", "--data", f.agentDir, "--poll", "1h",
				"--sync-interval", "500ms", "--ensure-vm", "vm1"}, tc.args(t)...)
			agent := f.startAgent(t)
			vm := waitVM(t, f.env, "vm1", "reported running", func(r vmRow) bool { return r.State == "running" })

			api := apiClient{base: f.env.server, token: f.env.token}
			var delays []time.Duration
			for range notifyRounds {
				// Space the rounds so the lock's session neither waits for
				// the previous session to end nor for the agent's rate limit:
				// otherwise the delay measures NotifyMinInterval.
				waitSessionsEnded(t, agent)
				time.Sleep(notifyMinInterval)

				start := time.Now()
				api.post(t, "/api/v1/devices/"+vm.Device+"/vms/vm1/lock", `{"user_unlock":false}`)
				api.waitLockState(t, vm.Device, "locked")
				delays = append(delays, time.Since(start))

				api.post(t, "/api/v1/devices/"+vm.Device+"/vms/vm1/unlock", `{}`)
				api.waitLockState(t, vm.Device, "unlocked")
			}
			slices.Sort(delays)
			t.Logf("%s: API lock call to confirmed lock over %d rounds: median %s, p90 %s, min %s, max %s",
				tc.name, len(delays), delays[len(delays)/2], delays[len(delays)*9/10-1],
				delays[0], delays[len(delays)-1])
		})
	}
}

// waitSessionsEnded waits until every DM session the agent logged as
// started has also ended or failed.
func waitSessionsEnded(t *testing.T, agent *process) {
	t.Helper()
	waitFor(t, "the agent's DM sessions to end", func() bool {
		logs := agent.logs.String()
		started := strings.Count(logs, "DM session started")
		finished := strings.Count(logs, "DM session ended") + strings.Count(logs, "DM session failed")
		return started == finished
	})
}

// freeUDPAddr returns a loopback UDP address that was free a moment ago.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("find a free UDP port: %v", err)
	}
	defer conn.Close()
	return conn.LocalAddr().String()
}

// apiClient calls the REST API directly, so the measured delays do not
// include starting a CLI process.
type apiClient struct {
	base  string
	token string
}

func (c apiClient) do(t *testing.T, method, path, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, buf.String())
	}
	return buf.Bytes()
}

func (c apiClient) post(t *testing.T, path, body string) {
	t.Helper()
	c.do(t, http.MethodPost, path, body)
}

// waitLockState polls the VM every 5 ms until its lock_state is want.
func (c apiClient) waitLockState(t *testing.T, device, want string) {
	t.Helper()
	path := fmt.Sprintf("/api/v1/devices/%s/vms/vm1", device)
	var vm vmRow
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := json.Unmarshal(c.do(t, http.MethodGet, path, ""), &vm); err != nil {
			t.Fatalf("decode VM: %v", err)
		}
		if vm.LockState == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for lock_state %s; it is %s (error %q)", want, vm.LockState, vm.LockError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
