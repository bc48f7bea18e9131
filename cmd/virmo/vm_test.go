package main

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/virmo/virmo/api"
)

func TestQuoteSecret(t *testing.T) {
	tests := []struct {
		secret string
		want   string
	}{
		{"abcd-efgh", "abcd-efgh"},
		{"pässwörd🔒", "pässwörd🔒"},
		{"  two words  ", `"  two words  "`},
		{"tab\there", `"tab\there"`},
		{`say "hi"`, `"say \"hi\""`},
		{"trailing ", `"trailing "`},
	}
	for _, tt := range tests {
		if got := quoteSecret(tt.secret); got != tt.want {
			t.Errorf("quoteSecret(%q) = %s, want %s", tt.secret, got, tt.want)
		}
	}
}

func TestRepeatedLockNamesRevealSecret(t *testing.T) {
	var out strings.Builder
	req := api.LockRequest{UserUnlock: true}
	resp := api.LockResponse{Intent: api.Intent{ID: "int-1", State: "pending"}}
	printLockResponse(&out, "dev-1/vm1", req, resp)
	for _, want := range []string{"already pending", "virmo vm reveal-secret dev-1/vm1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestLockSecretFlagsRejected(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"empty secret", "", []string{"--user-unlock", "--secret", ""}, "--secret is empty"},
		{"both sources", "abcd\n", []string{"--user-unlock", "--secret", "abcd", "--secret-stdin"}, "not both"},
		{"empty stdin", "\n", []string{"--user-unlock", "--secret-stdin"}, "no secret on standard input"},
		{"no user unlock", "", []string{"--secret", "abcd"}, "add --user-unlock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"vm", "lock", "dev-1/vm1", "--token", "x"}, tt.args...)
			_, err := runRoot(t, []byte(tt.stdin), args...)
			if err == nil {
				t.Fatal("vm lock succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

func TestLockSecretFromStdin(t *testing.T) {
	pollIntentsFast(t)
	dev := startDev(t, t.TempDir())
	device := dev.devDeviceID(t)

	out, err := dev.run(t, []byte("  pass word  \r\n"), "vm", "lock", device+"/vm1", "--user-unlock", "--secret-stdin", "--wait")
	if err != nil {
		t.Fatalf("lock: %v\n%s", err, out)
	}
	if !strings.Contains(out, `unlock secret: "  pass word  "`) {
		t.Errorf("output lacks the quoted secret:\n%s", out)
	}
	out, err = dev.run(t, nil, "vm", "reveal-secret", device+"/vm1", "--reason", "test")
	if err != nil {
		t.Fatalf("reveal-secret: %v", err)
	}
	if !strings.Contains(out, `unlock secret: "  pass word  "`) {
		t.Errorf("revealed secret differs:\n%s", out)
	}
}

func TestWaitReportsFailedIntent(t *testing.T) {
	pollIntentsFast(t)
	dev := startDev(t, t.TempDir())
	device := dev.devDeviceID(t)

	if out, err := dev.run(t, nil, "vm", "stop", device+"/vm2", "--wait"); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	out, err := dev.run(t, nil, "vm", "pause", device+"/vm2", "--wait")
	var exit *exitError
	if !errors.As(err, &exit) {
		t.Fatalf("pause of a stopped VM returned %v, want an exit error\n%s", err, out)
	}
	if exit.code != 1 {
		t.Errorf("exit code %d, want 1", exit.code)
	}
	if !strings.Contains(exit.msg, "pause of "+device+"/vm2 failed") {
		t.Errorf("message %q lacks the outcome", exit.msg)
	}

	intentID := regexp.MustCompile(`int-[0-9a-f]+`).FindString(out)
	if intentID == "" {
		t.Fatalf("pause output names no intent:\n%s", out)
	}
	shown, err := dev.run(t, nil, "intent", "show", intentID)
	if err != nil {
		t.Fatalf("intent show: %v", err)
	}
	if !strings.Contains(shown, "failed") {
		t.Errorf("intent show lacks the state:\n%s", shown)
	}
}
