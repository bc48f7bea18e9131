package server

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/server/notify"
	"github.com/virmo/virmo/store/sqlite"
)

// longPollNonce returns a long-poll nonce the server stored for devID: the
// one of the 401 to a credential signed with a nonce it never issued.
func longPollNonce(t *testing.T, url string, e api.Enrollment, devID string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+notify.Path+"?wait=0", nil)
	req.Header.Set("Authorization", notify.FormatAuthorization(devID, e.ClientUser,
		e.ClientPassword, []byte("never-issued")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("challenge request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("challenge status = %d, want 401", resp.StatusCode)
	}
	_, rest, _ := strings.Cut(resp.Header.Get("WWW-Authenticate"), `nonce="`)
	value, _, _ := strings.Cut(rest, `"`)
	nonce, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(nonce) == 0 {
		t.Fatalf("WWW-Authenticate %q has no base64 nonce", resp.Header.Get("WWW-Authenticate"))
	}
	return nonce
}

func TestShutdownEndsHeldLongPoll(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer st.Close()
	hub := notify.NewHub()
	srv, err := New(ctx, Config{DataDir: dir, Store: st, PublicURL: "http://127.0.0.1:8080",
		Waker: hub, DisableNotifyUDP: true})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	const devID = "IMEI:shutdown"
	token, err := srv.CreateEnrollToken(ctx, "test", time.Hour)
	if err != nil {
		t.Fatalf("create enrollment token: %v", err)
	}
	enrollment, err := srv.Enroll(ctx, api.EnrollRequest{Token: token, DevID: devID})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	nonce := longPollNonce(t, ts.URL, enrollment, devID)

	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+notify.Path, nil)
		req.Header.Set("Authorization", notify.FormatAuthorization(devID,
			enrollment.ClientUser, enrollment.ClientPassword, nonce))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("long-poll: %v", err)
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	for hub.Subscribers(enrollment.DeviceID) == 0 {
		time.Sleep(5 * time.Millisecond)
	}

	// The default hold time is 55 s; the bounds only keep a broken
	// Shutdown from hanging the test.
	shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case status := <-done:
		if status != http.StatusNoContent {
			t.Errorf("long-poll status = %d, want 204", status)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long-poll still held 10 s after Shutdown")
	}

}
