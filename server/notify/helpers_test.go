package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virmo/virmo/server/seal"
	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/store/sqlite"
)

// Credentials of the test device.
const (
	testDevID          = "urn:uuid:test-device"
	testDeviceID       = "dev-1"
	testClientPassword = "client-secret"
	testServerPassword = "server-secret"
	testServerID       = "virmo-test"
)

var testServerNonce = []byte("server-nonce-16b")

type fixture struct {
	store    *sqlite.Store
	notifier *Notifier
	hub      *Hub
	srv      *httptest.Server
}

func newFixture(t *testing.T, configure ...func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "server.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatalf("new sealer: %v", err)
	}
	clientSealed, _ := sealer.Seal([]byte(testClientPassword))
	serverSealed, _ := sealer.Seal([]byte(testServerPassword))
	err = st.CreateDevice(ctx, store.Device{
		ID:                 testDeviceID,
		DevID:              testDevID,
		ServerID:           testServerID,
		ClientUser:         testDeviceID,
		ClientSecretSealed: clientSealed,
		ServerSecretSealed: serverSealed,
		ServerNonce:        testServerNonce,
		CreatedAt:          time.Now().UTC(),
	})
	if err != nil {
		t.Fatalf("create device: %v", err)
	}

	hub := NewHub()
	cfg := Config{Store: st, Sealer: sealer, Waker: hub, Hold: 30 * time.Second}
	for _, f := range configure {
		f(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("new notifier: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	srv := httptest.NewServer(n)
	t.Cleanup(srv.Close)
	return &fixture{store: st, notifier: n, hub: hub, srv: srv}
}

// get sends a long-poll with the given Authorization header and query.
func (f *fixture) get(t *testing.T, auth, query string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+Path+query, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("long-poll: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// challenge returns a nonce issued for the test device: the one of a 401
// to a request with an unused, syntactically valid credential.
func (f *fixture) challenge(t *testing.T) []byte {
	t.Helper()
	resp := f.get(t, FormatAuthorization(testDevID, testDeviceID, testClientPassword,
		[]byte("never-issued")), "?wait=0")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status of the challenge request = %d, want 401", resp.StatusCode)
	}
	return headerNonce(t, resp.Header.Get("WWW-Authenticate"), "nonce")
}

// headerNonce returns the base64 parameter key of an authentication header.
func headerNonce(t *testing.T, header, key string) []byte {
	t.Helper()
	_, rest, _ := strings.Cut(header, key+`="`)
	value, _, ok := strings.Cut(rest, `"`)
	if !ok {
		t.Fatalf("header %q has no %s", header, key)
	}
	nonce, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(nonce) == 0 {
		t.Fatalf("header %q: %s is not base64", header, key)
	}
	return nonce
}

func goodAuth(nonce []byte) string {
	return FormatAuthorization(testDevID, testDeviceID, testClientPassword, nonce)
}
