package agent

import (
	"context"
	"testing"
	"time"

	"github.com/virmo/virmo/syncml"
)

func TestBackoffBounds(t *testing.T) {
	tests := []struct {
		failures int
		ceiling  time.Duration
	}{
		{1, minBackoff},
		{2, 2 * minBackoff},
		{5, 16 * minBackoff},
		{8, 128 * minBackoff},
		{9, MaxBackoff},
		{19, MaxBackoff},
		{1000, MaxBackoff},
	}
	for _, tt := range tests {
		for range 50 {
			d := backoff(tt.failures)
			if d < tt.ceiling/2 || d > tt.ceiling {
				t.Errorf("backoff(%d) = %s, want within [%s, %s]",
					tt.failures, d, tt.ceiling/2, tt.ceiling)
				break
			}
		}
	}
}

// TestRunSessionNowAfterFailure checks that SessionNow starts a session at
// once, even while the agent backs off after a failed one.
func TestRunSessionNowAfterFailure(t *testing.T) {
	srv := newDMServer(t)
	ta := newTestAgent(t, srv, func(c *Config) {
		c.PollInterval = time.Hour
		c.SyncInterval = time.Hour
	})
	failed := make(chan struct{})
	second := make(chan struct{})
	srv.script(
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			close(failed)
			return nil
		},
		func(t *testing.T, raw []byte, in *syncml.Message) *syncml.Message {
			close(second)
			return serverMessage(in, testServerNonce, hdrStatus(in, 212, nil))
		},
	)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ta.Run(ctx) }()

	<-failed
	// The failed session may still be finishing; SessionNow is kept until
	// the loop reads it, so the second session follows either way.
	ta.SessionNow()
	<-second

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	srv.done()
}

func TestNewRequiresConfig(t *testing.T) {
	if _, err := New(Config{Driver: nil, DataDir: t.TempDir()}); err == nil {
		t.Errorf("New without a driver succeeded")
	}
	dir := t.TempDir()
	if _, err := New(Config{Driver: openSim(t, dir)}); err == nil {
		t.Errorf("New without a DataDir succeeded")
	}
}

func TestNewKeepsDevIDAndLocksDataDir(t *testing.T) {
	dir := t.TempDir()
	drv := openSim(t, dir)

	a, err := New(Config{DataDir: dir, Driver: drv})
	if err != nil {
		t.Fatal(err)
	}
	first := a.info.DevID
	if _, err := New(Config{DataDir: dir, Driver: drv}); err == nil {
		t.Errorf("second agent on the same DataDir started")
	}
	a.Close()

	b, err := New(Config{DataDir: dir, Driver: drv})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.info.DevID != first {
		t.Errorf("DevID changed across restarts: %q, then %q", first, b.info.DevID)
	}
}
