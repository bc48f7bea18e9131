package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLogFlagsCheckedEverywhere(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--log-level", "loud", "ddf"}, `--log-level "loud"`},
		{[]string{"--log-format", "xml", "ddf"}, `--log-format "xml"`},
		{[]string{"--log-level", "loud", "vm", "list", "--token", "x"}, `--log-level "loud"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := runRoot(t, nil, tt.args...)
			if err == nil {
				t.Fatal("command succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

func TestUnknownSubcommandRejected(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"vm", "get", "x"}, `unknown command "get" for "virmo vm"`},
		{[]string{"device", "show"}, `unknown command "show" for "virmo device"`},
		{[]string{"enroll-token", "list"}, `unknown command "list" for "virmo enroll-token"`},
		{[]string{"agent", "bogus"}, `unknown command "bogus" for "virmo agent"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := runRoot(t, nil, tt.args...)
			if err == nil {
				t.Fatal("command succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

func TestGroupWithoutSubcommandShowsHelp(t *testing.T) {
	out, err := runRoot(t, nil, "vm")
	if err != nil {
		t.Fatalf("virmo vm: %v", err)
	}
	if !strings.Contains(out, "reveal-secret") {
		t.Errorf("help output lacks the subcommands:\n%s", out)
	}
}

func TestEnrollTokenTTLRejected(t *testing.T) {
	for _, ttl := range []string{"0s", "1ms", "999ms", "1500ms", "-1s", "721h"} {
		t.Run(ttl, func(t *testing.T) {
			_, err := runRoot(t, nil, "enroll-token", "create", "--ttl", ttl, "--token", "x")
			if err == nil {
				t.Fatal("enroll-token create succeeded")
			}
			if !strings.Contains(err.Error(), "invalid --ttl") {
				t.Errorf("error %q lacks %q", err, "invalid --ttl")
			}
		})
	}
}

func TestEnrollTokenTTLAccepted(t *testing.T) {
	srv := startTestServer(t)
	for _, ttl := range []string{"1s", "90s", "720h"} {
		t.Run(ttl, func(t *testing.T) {
			if _, err := srv.run(t, nil, "enroll-token", "create", "--ttl", ttl); err != nil {
				t.Errorf("enroll-token create --ttl %s: %v", ttl, err)
			}
		})
	}
}

func TestAuditLimitRejected(t *testing.T) {
	for _, limit := range []string{"0", "-1", "1001"} {
		t.Run(limit, func(t *testing.T) {
			_, err := runRoot(t, nil, "audit", "--limit", limit, "--token", "x")
			if err == nil {
				t.Fatal("audit succeeded")
			}
			want := "invalid --limit " + limit + ": use a number from 1 to 1000"
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		})
	}
}

// createTokens adds n audit entries with details note-0 to note-(n-1).
func createTokens(t *testing.T, srv *testServer, n int) {
	t.Helper()
	for i := range n {
		_, err := srv.running.srv.CreateEnrollToken(context.Background(), fmt.Sprintf("note-%d", i), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditShowsNewestEntries(t *testing.T) {
	srv := startTestServer(t)
	// The server writes one entry for its admin token, so the log holds
	// 1205 entries, more than one page of 1000.
	createTokens(t, srv, 1204)

	out, err := srv.run(t, nil, "audit", "--limit", "3")
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("audit printed %d lines, want a header and 3 entries:\n%s", len(lines), out)
	}
	for i, want := range []string{"note-1201", "note-1202", "note-1203"} {
		if !strings.Contains(lines[i+1], want) {
			t.Errorf("line %d is %q, want it to contain %q", i+1, lines[i+1], want)
		}
	}
}

func TestAuditAfterShowsOldestFirst(t *testing.T) {
	srv := startTestServer(t)
	createTokens(t, srv, 5)

	out, err := srv.run(t, nil, "audit", "--after", "0", "--limit", "2")
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	if !strings.Contains(out, "admin_token.create") {
		t.Errorf("audit --after 0 lacks the first entry:\n%s", out)
	}
	if strings.Contains(out, "note-1") {
		t.Errorf("audit --after 0 --limit 2 shows a third entry:\n%s", out)
	}
}

func TestZeroIntervalsRejected(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"dev", "--poll", "0s", "--data", t.TempDir()}, "invalid --poll 0s"},
		{[]string{"dev", "--poll", "-1s", "--data", t.TempDir()}, "invalid --poll -1s"},
		{[]string{"dev", "--poll", "5ms", "--data", t.TempDir()}, "invalid --poll 5ms"},
		{[]string{"agent", "--poll", "-1s", "--data", t.TempDir()}, "invalid --poll -1s"},
		{[]string{"agent", "--poll", "5ms", "--data", t.TempDir()}, "invalid --poll 5ms"},
		{[]string{"agent", "--poll", "999ms", "--data", t.TempDir()}, "invalid --poll 999ms"},
		{[]string{"agent", "--sync-interval", "0s", "--data", t.TempDir()}, "invalid --sync-interval 0s"},
		{[]string{"server", "--server-id", "", "--data", t.TempDir()}, "--server-id is empty"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:3], " "), func(t *testing.T) {
			_, err := runRoot(t, nil, tt.args...)
			if err == nil {
				t.Fatal("command succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

func TestEnrollNameDefaultsToHostName(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skipf("no host name: %v", err)
	}
	srv := startTestServer(t)
	token, err := srv.running.srv.CreateEnrollToken(context.Background(), "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runRoot(t, nil, "agent", "enroll", "--server", srv.running.baseURL, "--token", token,
		"--data", t.TempDir())
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	out, err := srv.run(t, nil, "device", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, " "+host) {
		t.Errorf("device list lacks the host name %q:\n%s", host, out)
	}
}
