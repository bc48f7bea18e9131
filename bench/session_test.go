package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// workers is the number of goroutines that send sessions or requests at
// once in BenchmarkDMSession and BenchmarkBareHTTP.
const workers = 4

// devicesPerWorker is how many agents each worker takes turns with, so
// that consecutive sessions of a worker come from different devices.
const devicesPerWorker = 2

// runWorkers calls work b.N times in total from workers goroutines and
// returns the duration of every call and the wall time of the whole run.
func runWorkers(b *testing.B, work func(worker int) error) ([]time.Duration, time.Duration) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	perWorker := make([][]time.Duration, workers)
	errs := make([]error, workers)
	b.ResetTimer()
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if err := work(w); err != nil {
					errs[w] = err
					return
				}
				perWorker[w] = append(perWorker[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	var all []time.Duration
	for _, d := range perWorker {
		all = append(all, d...)
	}
	return all, elapsed
}

// BenchmarkDMSession measures complete client-initiated DM sessions of
// enrolled agents against a real server with SQLite, over loopback HTTP.
// Each agent has one sim VM and nothing queued, so a session is the
// agent's Alert 1201 with DevInfo and the server's closing reply. One
// operation is one session; sessions/s is the rate of the whole run.
func BenchmarkDMSession(b *testing.B) {
	env := startServer(b, 0)
	devices := make([][]*device, workers)
	for w := range workers {
		for i := range devicesPerWorker {
			d := enrollDevice(b, env, w*devicesPerWorker+i, agentOptions{vms: 1})
			devices[w] = append(devices[w], d)
		}
	}
	ctx := context.Background()
	turn := make([]int, workers)

	durations, elapsed := runWorkers(b, func(w int) error {
		d := devices[w][turn[w]%devicesPerWorker]
		turn[w]++
		return d.agent.Session(ctx)
	})
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sessions/s")
	reportLatency(b, durations)
}

// BenchmarkBareHTTP measures round-trips to a handler that writes "ok",
// with the agent's default HTTP client and the same worker count as
// BenchmarkDMSession, as the baseline of its sessions/s.
func BenchmarkBareHTTP(b *testing.B) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	b.Cleanup(hs.Close)
	client := newHTTPClient()

	durations, elapsed := runWorkers(b, func(int) error {
		resp, err := client.Get(hs.URL)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return err
	})
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "round-trips/s")
	reportLatency(b, durations)
}
