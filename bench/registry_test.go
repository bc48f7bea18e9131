package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/virmo/virmo/api"
)

// registryDevices is the number of devices BenchmarkRegistryMemory
// enrolls per operation.
const registryDevices = 10_000

// BenchmarkRegistryMemory enrolls registryDevices devices through
// Server.Enroll (a token and an enrollment transaction each, as the HTTP
// handler runs them) and reports, per device, the growth of the Go heap
// (HeapInuse after a GC), of the process's resident memory (VmRSS, which
// also counts SQLite's page cache) and the size of the SQLite database
// with its WAL. Run it with -benchtime=1x: one operation is a fresh
// server and all registryDevices enrollments.
func BenchmarkRegistryMemory(b *testing.B) {
	ctx := context.Background()
	var heapGrowth, rssGrowth, dbSize float64
	for b.Loop() {
		b.StopTimer()
		env := startServer(b, 0)
		heapBefore := heapInuse()
		rssBefore := residentBytes(b, "self")
		b.StartTimer()

		for i := range registryDevices {
			token, err := env.srv.CreateEnrollToken(ctx, "bench", time.Hour)
			if err != nil {
				b.Fatalf("create enrollment token: %v", err)
			}
			req := api.EnrollRequest{Token: token, DevID: fmt.Sprintf("IMEI:%015d", i)}
			if _, err := env.srv.Enroll(ctx, req); err != nil {
				b.Fatalf("enroll device %d: %v", i, err)
			}
		}

		b.StopTimer()
		heapGrowth += float64(heapInuse()) - float64(heapBefore)
		rssGrowth += float64(residentBytes(b, "self")) - float64(rssBefore)
		dbSize += float64(fileSize(env.dbPath) + fileSize(env.dbPath+"-wal"))
		b.StartTimer()
	}
	perDevice := float64(b.N) * registryDevices
	b.ReportMetric(heapGrowth/perDevice, "heap-B/device")
	b.ReportMetric(rssGrowth/perDevice, "rss-B/device")
	b.ReportMetric(dbSize/perDevice, "db-B/device")
}

// heapInuse returns runtime.MemStats.HeapInuse after a full GC.
func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// residentBytes returns VmRSS of the process pid ("self" for this one)
// from /proc/PID/status.
func residentBytes(b *testing.B, pid string) int64 {
	b.Helper()
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		b.Fatalf("read VmRSS: %v", err)
	}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		fields := bytes.Fields(scanner.Bytes())
		if len(fields) == 3 && string(fields[0]) == "VmRSS:" && string(fields[2]) == "kB" {
			kib, err := strconv.ParseInt(string(fields[1]), 10, 64)
			if err != nil {
				b.Fatalf("parse VmRSS %q: %v", fields[1], err)
			}
			return kib << 10
		}
	}
	b.Fatalf("no VmRSS line in /proc/%s/status", pid)
	return 0
}

// fileSize returns the size of path, or 0 when it does not exist.
func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}
