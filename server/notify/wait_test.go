package notify

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHoldOfWait(t *testing.T) {
	n := newFixture(t).notifier // Hold is 30 s.
	cases := []struct {
		query string
		want  time.Duration
		ok    bool
	}{
		{"", 30 * time.Second, true},
		{"?wait=0", 0, true},
		{"?wait=5", 5 * time.Second, true},
		{"?wait=86400", 30 * time.Second, true},
		{"?wait=86401", 0, false},
		{"?wait=9300000000", 0, false},
		{"?wait=99999999999999999999", 0, false},
		{"?wait=-1", 0, false},
		{"?wait=1.5", 0, false},
		{"?wait=x", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, Path+tc.query, nil)
			got, err := n.holdOf(r)
			if tc.ok && err != nil {
				t.Fatalf("holdOf(%s): %v", tc.query, err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("holdOf(%s) = %s, want an error", tc.query, got)
			}
			if got != tc.want {
				t.Errorf("holdOf(%s) = %s, want %s", tc.query, got, tc.want)
			}
		})
	}
}

func TestLongPollWaitOverflowRejected(t *testing.T) {
	f := newFixture(t)
	resp := f.get(t, goodAuth(f.challenge(t)), "?wait=9300000000")
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", resp.StatusCode)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "86400") {
		t.Errorf("body %q does not name the maximum 86400", body)
	}
}
