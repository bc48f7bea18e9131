package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/virmo/virmo/agent"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/hypervisor/sim"
	"github.com/virmo/virmo/server"
	"github.com/virmo/virmo/store/sqlite"
)

// quiet discards logs, so that log output costs nothing in a measurement.
var quiet = slog.New(slog.DiscardHandler)

// serverEnv is a real server on a SQLite store, served over loopback HTTP.
type serverEnv struct {
	srv    *server.Server
	store  *sqlite.Store
	url    string
	dbPath string
	dir    string
}

// startServer starts a server with its SQLite store in b.TempDir() on
// 127.0.0.1:0. notifyHold sets Config.NotifyHold; 0 keeps the default.
func startServer(b *testing.B, notifyHold time.Duration) *serverEnv {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	dbPath := filepath.Join(dir, "server.db")
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		b.Fatalf("open store: %v", err)
	}
	b.Cleanup(func() { st.Close() })

	hs := httptest.NewUnstartedServer(nil)
	url := "http://" + hs.Listener.Addr().String()
	srv, err := server.New(ctx, server.Config{
		DataDir:          filepath.Join(dir, "server"),
		Store:            st,
		PublicURL:        url,
		Logger:           quiet,
		DisableNotifyUDP: true,
		NotifyHold:       notifyHold,
	})
	if err != nil {
		b.Fatalf("new server: %v", err)
	}
	hs.Config.Handler = srv.Handler()
	hs.Start()
	// Cleanups run last in, first out: the listener closes before the
	// server and the store.
	b.Cleanup(func() { srv.Close() })
	b.Cleanup(hs.Close)
	return &serverEnv{srv: srv, store: st, url: url, dbPath: dbPath, dir: dir}
}

// device is an enrolled in-process agent with its sim driver.
type device struct {
	agent *agent.Agent
	devID string
	// id is the server's device ID.
	id string
}

// agentOptions are the Config fields a benchmark sets on its agents.
type agentOptions struct {
	vms            int
	notifyLongPoll bool
}

// enrollDevice enrolls an agent through POST /api/v1/enroll, creates
// opts.vms sim VMs named vm1, vm2, ..., reconciles, and runs the first
// session, which reports the inventory.
func enrollDevice(b *testing.B, env *serverEnv, index int, opts agentOptions) *device {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	token, err := env.srv.CreateEnrollToken(ctx, "bench", time.Hour)
	if err != nil {
		b.Fatalf("create enrollment token: %v", err)
	}
	devID := fmt.Sprintf("IMEI:%015d", index)
	agentDir := filepath.Join(dir, "agent")
	err = agent.Enroll(ctx, agent.EnrollConfig{DataDir: agentDir, ServerURL: env.url,
		Token: token, DevID: devID})
	if err != nil {
		b.Fatalf("enroll %s: %v", devID, err)
	}

	drv, err := sim.Open(filepath.Join(dir, "sim"))
	if err != nil {
		b.Fatalf("open sim driver: %v", err)
	}
	b.Cleanup(func() { drv.Close() })
	for i := range opts.vms {
		name := fmt.Sprintf("vm%d", i+1)
		if _, err := drv.Create(ctx, name, hypervisor.Config{VCPUs: 1, MemoryMiB: 32}); err != nil {
			b.Fatalf("create %s: %v", name, err)
		}
	}

	a, err := agent.New(agent.Config{
		DataDir:        agentDir,
		Driver:         drv,
		Logger:         quiet,
		PollInterval:   time.Hour,
		NotifyLongPoll: opts.notifyLongPoll,
	})
	if err != nil {
		b.Fatalf("new agent: %v", err)
	}
	b.Cleanup(func() { a.Close() })
	if err := a.Reconcile(ctx); err != nil {
		b.Fatalf("reconcile %s: %v", devID, err)
	}
	if err := a.Session(ctx); err != nil {
		b.Fatalf("inventory session of %s: %v", devID, err)
	}
	dev, err := env.store.GetDeviceByDevID(ctx, devID)
	if err != nil {
		b.Fatalf("look up %s: %v", devID, err)
	}
	return &device{agent: a, devID: devID, id: dev.ID}
}

// newHTTPClient returns the client the agent builds when Config.HTTPClient
// is nil: http.DefaultTransport with a 60 s timeout.
func newHTTPClient() *http.Client {
	return &http.Client{Timeout: 60 * time.Second}
}

// reportLatency reports the p50 and p99 of durations in milliseconds.
func reportLatency(b *testing.B, durations []time.Duration) {
	b.Helper()
	if len(durations) == 0 {
		return
	}
	slices.Sort(durations)
	b.ReportMetric(msOf(percentile(durations, 50)), "p50-ms")
	b.ReportMetric(msOf(percentile(durations, 99)), "p99-ms")
}

// percentile returns the nearest-rank percentile p of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (len(sorted)*p + 99) / 100
	return sorted[max(rank-1, 0)]
}

func msOf(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
