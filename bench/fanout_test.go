package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/apiclient"
)

// confirmPoll is how often BenchmarkFanOutLock reads the VMs' lock state
// from the store while it waits for the agents to confirm.
const confirmPoll = 2 * time.Millisecond

// notifyGap is the pause between rounds, longer than the agents'
// DefaultNotifyMinInterval (1 s), so that a lock's notified session never
// waits for the rate limit that the previous unlock's session started.
const notifyGap = 1100 * time.Millisecond

// BenchmarkFanOutLock measures the time from the first lock API call
// (POST /api/v1/devices/{id}/vms/vm1/lock over loopback HTTP) to the
// moment the server's store shows every one of N VMs locked, confirmed by
// N in-process agents that run Agent.Run with long-poll notifications and
// a one-hour poll interval. The calls are sent one after another, as an
// operator's script would. One operation is one round; the unlock that
// resets the VMs between rounds is not timed. p50-ms and p99-ms are the
// per-VM times from that VM's own API call to its confirmed lock.
func BenchmarkFanOutLock(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchmarkFanOutLock(b, n) })
	}
}

func benchmarkFanOutLock(b *testing.B, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	env := startServer(b, 0)
	token, err := env.srv.EnsureAdminToken(ctx)
	if err != nil {
		b.Fatalf("admin token: %v", err)
	}
	client := apiclient.New(env.url, token, newHTTPClient())

	devices := make([]*device, n)
	for i := range n {
		devices[i] = enrollDevice(b, env, i, agentOptions{vms: 1, notifyLongPoll: true})
	}
	var running sync.WaitGroup
	for _, d := range devices {
		running.Go(func() {
			if err := d.agent.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				b.Errorf("agent %s: %v", d.devID, err)
			}
		})
	}
	// Agents stop before the cleanups of startServer close the server.
	defer running.Wait()
	defer cancel()

	var perVM []time.Duration
	for b.Loop() {
		b.StopTimer()
		time.Sleep(notifyGap)
		b.StartTimer()

		called := make([]time.Time, n)
		for i, d := range devices {
			called[i] = time.Now()
			if _, err := client.Lock(ctx, d.id, "vm1", api.LockRequest{}); err != nil {
				b.Fatalf("lock %s: %v", d.id, err)
			}
		}
		perVM = append(perVM, waitLockState(b, env, devices, called, "locked")...)

		b.StopTimer()
		time.Sleep(notifyGap)
		for _, d := range devices {
			if _, err := client.Unlock(ctx, d.id, "vm1"); err != nil {
				b.Fatalf("unlock %s: %v", d.id, err)
			}
		}
		waitLockState(b, env, devices, nil, "unlocked")
		b.StartTimer()
	}
	reportLatency(b, perVM)
}

// waitLockState polls the store until vm1 of every device has lock state
// want and returns, per device, the time from since[i] to the first poll
// that saw it; since may be nil. It fails after two minutes, a bound that
// only stops a hung run.
func waitLockState(b *testing.B, env *serverEnv, devices []*device, since []time.Time,
	want string) []time.Duration {
	b.Helper()
	ctx := context.Background()
	durations := make([]time.Duration, 0, len(devices))
	done := make([]bool, len(devices))
	deadline := time.Now().Add(2 * time.Minute)
	for remaining := len(devices); remaining > 0; {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d VMs not %s after two minutes", remaining, len(devices), want)
		}
		for i, d := range devices {
			if done[i] {
				continue
			}
			vm, err := env.store.GetVM(ctx, d.id, "vm1")
			if err != nil {
				b.Fatalf("read vm1 of %s: %v", d.id, err)
			}
			if vm.LockState != want {
				continue
			}
			done[i] = true
			remaining--
			if since != nil {
				durations = append(durations, time.Since(since[i]))
			}
		}
		if remaining > 0 {
			time.Sleep(confirmPoll)
		}
	}
	return durations
}
