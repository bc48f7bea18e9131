package agent

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virmo/virmo/dmtree"
)

// TestNewRejectsUnusableAccount checks that New returns the error of a DM
// account no session can use, instead of an agent that backs off forever.
func TestNewRejectsUnusableAccount(t *testing.T) {
	tests := []struct {
		name string
		// accountAuth is the auth type stored in the account before New.
		accountAuth string
		configAuth  string
		want        string
	}{
		{"auth mismatch", AuthMD5, AuthHMAC, "configured auth type hmac differs from md5"},
		{"basic over http", AuthBasic, "", "basic credentials are sent only over https"},
		{"basic configured over http", AuthBasic, AuthBasic, "basic credentials are sent only over https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newDMServer(t)
			ta := newTestAgent(t, srv)
			if tt.accountAuth != AuthMD5 {
				err := ta.tree.Update(func(tx *dmtree.Tx) error { return setAuthPref(tx, tt.accountAuth) })
				if err != nil {
					t.Fatal(err)
				}
			}
			ta.Close()

			a, err := New(Config{DataDir: ta.dir, Driver: ta.drv, Auth: tt.configAuth,
				Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				a.Close()
				t.Fatal("New returned no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestNewWithoutAccount checks that a missing DM account is still no
// error for New.
func TestNewWithoutAccount(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv)
	err := ta.tree.Update(func(tx *dmtree.Tx) error {
		base, err := accountBase(tx)
		if err != nil {
			return err
		}
		return tx.Delete(base)
	})
	if err != nil {
		t.Fatal(err)
	}
	ta.Close()

	a, err := New(Config{DataDir: ta.dir, Driver: ta.drv, Auth: AuthHMAC,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New without a DM account: %v", err)
	}
	defer a.Close()
	if _, err := a.account(); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("account error = %v, want ErrNotEnrolled", err)
	}
}

// TestLogBackoffRateLimits checks that the backoff log line carries the
// session error each time it changes, and that a repeated error is logged
// at info level only every backoffLogEvery failures.
func TestLogBackoffRateLimits(t *testing.T) {
	var logs bytes.Buffer
	a := &Agent{log: slog.New(slog.NewTextHandler(&logs, nil))}
	errA := errors.New("first cause")
	errB := errors.New("second cause")

	lastErr := ""
	sequence := []error{errA, errA, errA, errB, errA}
	for i, err := range sequence {
		a.logBackoff(err, i+1, time.Second, &lastErr)
	}
	for i := len(sequence); i < 2*backoffLogEvery; i++ {
		a.logBackoff(errA, i+1, time.Second, &lastErr)
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	want := []string{
		`level=WARN msg="DM session failed; next one after backoff" failures=1 wait=1s err="first cause"`,
		`level=WARN msg="DM session failed; next one after backoff" failures=4 wait=1s err="second cause"`,
		`level=WARN msg="DM session failed; next one after backoff" failures=5 wait=1s err="first cause"`,
		`level=INFO msg="DM session failed again; next one after backoff" failures=10 wait=1s err="first cause"`,
		`level=INFO msg="DM session failed again; next one after backoff" failures=20 wait=1s err="first cause"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d log lines, want %d:\n%s", len(lines), len(want), logs.String())
	}
	for i, line := range lines {
		if !strings.HasSuffix(line, want[i]) {
			t.Errorf("log line %d = %q, want suffix %q", i, line, want[i])
		}
	}
}

// TestConfigErrorsNameNoFields checks the messages of invalid Config and
// EnrollConfig values: each names the value and the fix in plain words,
// not the Go field.
func TestConfigErrorsNameNoFields(t *testing.T) {
	dir := t.TempDir()
	drv := openSim(t, dir)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"missing data directory", Config{Driver: drv},
			"agent: missing data directory: set the directory for the agent's state"},
		{"missing driver", Config{DataDir: dir},
			"agent: missing hypervisor driver: open a hypervisor driver first"},
		{"invalid encoding", Config{DataDir: dir, Driver: drv, Encoding: "json"},
			`invalid encoding "json": use xml or wbxml`},
		{"invalid auth", Config{DataDir: dir, Driver: drv, Auth: "sha1"},
			`invalid auth type "sha1": use md5, hmac or basic`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.cfg)
			if err == nil {
				a.Close()
				t.Fatal("New returned no error")
			}
			if err.Error() != tt.want {
				t.Errorf("New error = %q, want %q", err, tt.want)
			}
		})
	}

	err := Enroll(t.Context(), EnrollConfig{DataDir: dir})
	if want := "enroll: missing server URL, enrollment token"; err == nil || err.Error() != want {
		t.Errorf("Enroll error = %v, want %q", err, want)
	}
}

// TestEnrollBasicOverHTTPSendsNothing checks that enrolling with basic
// credentials to a plain-http server fails before the request, so the
// token stays unused.
func TestEnrollBasicOverHTTPSendsNothing(t *testing.T) {
	var requests atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer hs.Close()

	err := Enroll(t.Context(), EnrollConfig{DataDir: t.TempDir(), ServerURL: hs.URL,
		Token: testToken, Auth: AuthBasic, HTTPClient: hs.Client()})
	if err == nil || !strings.Contains(err.Error(), "basic credentials are sent only over https") {
		t.Errorf("Enroll error = %v, want the https requirement", err)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("server got %d requests, want 0", n)
	}
}
