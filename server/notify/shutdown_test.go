package notify

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestShutdownEndsHeldLongPoll(t *testing.T) {
	f := newFixture(t)
	nonce := f.challenge(t)

	done := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+Path, nil)
		req.Header.Set("Authorization", goodAuth(nonce))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("long-poll: %v", err)
			done <- nil
			return
		}
		resp.Body.Close()
		done <- resp
	}()
	for f.hub.Subscribers(testDeviceID) == 0 {
		time.Sleep(5 * time.Millisecond)
	}

	// The hold time is 30 s; the bound only keeps a broken Shutdown from
	// hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.notifier.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case resp := <-done:
		if resp == nil {
			return
		}
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("status = %d, want 204", resp.StatusCode)
		}
		headerNonce(t, resp.Header.Get("Authentication-Info"), "nextnonce")
	case <-time.After(10 * time.Second):
		t.Fatal("long-poll still held 10 s after Shutdown")
	}
}

func TestLongPollAfterShutdownGets503(t *testing.T) {
	f := newFixture(t)
	if err := f.notifier.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	resp := f.get(t, goodAuth([]byte("never-issued")), "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", resp.StatusCode)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 has no Retry-After header")
	}
}

func TestCloseEndsHeldLongPoll(t *testing.T) {
	f := newFixture(t)
	nonce := f.challenge(t)

	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+Path, nil)
		req.Header.Set("Authorization", goodAuth(nonce))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("long-poll: %v", err)
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	for f.hub.Subscribers(testDeviceID) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := f.notifier.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case status := <-done:
		if status != 0 && status != http.StatusNoContent {
			t.Errorf("status = %d, want 204", status)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long-poll still held 10 s after Close")
	}
}
