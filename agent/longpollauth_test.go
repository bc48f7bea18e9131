package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/virmo/virmo/dmtree"
)

// TestLongPollRejectionAdvice checks when a rejected long-poll advises
// re-enrolling: only when the retry signed with a fresh nonce fails too.
func TestLongPollRejectionAdvice(t *testing.T) {
	tests := []struct {
		name string
		// challenge is the WWW-Authenticate value of every 401.
		challenge    string
		wantRequests int
		wantErr      string
		wantAdvice   bool
	}{
		{"retry rejected", `SyncML-MD5 realm="virmo", nonce="bm9uY2UtMDAx"`, 2,
			"signed with a fresh nonce", true},
		{"no nonce", `SyncML-MD5 realm="virmo"`, 1, "without a nonce", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var auths []string
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				auths = append(auths, r.Header.Get("Authorization"))
				mu.Unlock()
				w.Header().Set("WWW-Authenticate", tt.challenge)
				w.WriteHeader(http.StatusUnauthorized)
			}))
			defer hs.Close()

			srv := newDMServer(t)
			ta := newTestAgent(t, srv)
			err := ta.tree.Update(func(tx *dmtree.Tx) error {
				base, err := accountBase(tx)
				if err != nil {
					return err
				}
				return tx.SetValue(base+"/AppAddr/Srv/Addr", []byte(hs.URL+"/dm"))
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := ta.account(t).ServerURL; got != hs.URL+"/dm" {
				t.Fatalf("account server URL = %q, want %s/dm", got, hs.URL)
			}

			_, _, err = ta.longPoll(context.Background(), nil)
			if err == nil {
				t.Fatal("long-poll returned no error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if got := strings.Contains(err.Error(), "re-enroll"); got != tt.wantAdvice {
				t.Errorf("error %q advises re-enrolling: %v, want %v", err, got, tt.wantAdvice)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(auths) != tt.wantRequests {
				t.Fatalf("server got %d requests, want %d", len(auths), tt.wantRequests)
			}
			if want := fmt.Sprintf(`%s devid=%q`, notifyAuthScheme, testDevID); auths[0] != want {
				t.Errorf("first Authorization = %q, want %q", auths[0], want)
			}
		})
	}
}
