package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virmo/virmo/store"
)

func testEnrollTokenUse(t *testing.T, s store.Store) {
	ctx := context.Background()
	tokens := []store.EnrollToken{
		{Hash: "h-fresh", Note: "lab", CreatedAt: at(0), ExpiresAt: at(60)},
		{Hash: "h-edge", CreatedAt: at(0), ExpiresAt: at(60)},
		{Hash: "h-expired", CreatedAt: at(0), ExpiresAt: at(60)},
		{Hash: "h-forever", CreatedAt: at(0)},
	}
	for _, tok := range tokens {
		must(t, "create token", s.CreateEnrollToken(ctx, tok))
	}

	err := s.CreateEnrollToken(ctx, store.EnrollToken{Hash: "h-fresh", ExpiresAt: at(90)})
	checkErrHides(t, "CreateEnrollToken duplicate", err, store.ErrConflict, "h-fresh")

	// The steps run in order: the second use of h-fresh follows the first.
	steps := []struct {
		name   string
		hash   string
		now    time.Time
		target error
	}{
		{"first use", "h-fresh", at(30), nil},
		{"second use", "h-fresh", at(31), store.ErrTokenUsed},
		{"second use after expiry", "h-fresh", at(90), store.ErrTokenUsed},
		{"at expiry", "h-edge", at(60), store.ErrTokenUsed},
		{"one microsecond before expiry", "h-edge", at(60).Add(-time.Microsecond), nil},
		{"after expiry", "h-expired", at(61), store.ErrTokenUsed},
		{"no expiry", "h-forever", at(100000), nil},
		{"no expiry second use", "h-forever", at(100001), store.ErrTokenUsed},
		{"unknown", "h-missing", at(0), store.ErrNotFound},
	}
	for _, st := range steps {
		err := s.UseEnrollToken(ctx, st.hash, "dev-"+st.hash, st.now)
		if st.target == nil {
			if err != nil {
				t.Errorf("%s: UseEnrollToken(%s): %v", st.name, st.hash, err)
			}
			continue
		}
		checkErrHides(t, st.name, err, st.target, st.hash)
	}
}

// testEnrollTokenConcurrent has several goroutines race for each of a few
// tokens and checks that exactly one wins every race.
func testEnrollTokenConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	const tokens, racers = 5, 4
	for i := range tokens {
		tok := store.EnrollToken{Hash: fmt.Sprintf("h-%d", i), CreatedAt: at(0), ExpiresAt: at(60)}
		must(t, "create token", s.CreateEnrollToken(ctx, tok))
	}

	for i := range tokens {
		hash := fmt.Sprintf("h-%d", i)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for r := range racers {
			wg.Go(func() {
				errs[r] = s.UseEnrollToken(ctx, hash, fmt.Sprintf("dev-%d", r), at(1))
			})
		}
		wg.Wait()

		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrTokenUsed):
				t.Errorf("%s: UseEnrollToken: %v, want nil or ErrTokenUsed", hash, err)
			}
		}
		if wins != 1 {
			t.Errorf("%s: %d goroutines used the token, want 1", hash, wins)
		}
	}
}

func testSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.GetSetting(ctx, "missing.key")
	checkErr(t, "GetSetting unknown", err, store.ErrNotFound, "missing.key")

	steps := []struct {
		key   string
		value []byte
	}{
		{"server.url", []byte("https://dm.example.test/dm")},
		{"binary", []byte{0x00, 0xff, 0x00}},
		{"server.url", []byte("https://dm2.example.test/dm")},
		{"empty", []byte{}},
	}
	for _, st := range steps {
		must(t, "put setting", s.PutSetting(ctx, st.key, st.value))
		got, err := s.GetSetting(ctx, st.key)
		if err != nil {
			t.Errorf("GetSetting(%s): %v", st.key, err)
			continue
		}
		if string(got) != string(st.value) {
			t.Errorf("GetSetting(%s) = %q, want %q", st.key, got, st.value)
		}
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	list, err := s.ListAudit(ctx, 0, 0)
	must(t, "list audit", err)
	if len(list) != 0 {
		t.Errorf("ListAudit on empty store returned %d entries", len(list))
	}

	var appended []store.AuditEntry
	for i := range 5 {
		e := store.AuditEntry{
			Time:   at(i),
			Actor:  "admin",
			Action: "vm.lock",
			Target: fmt.Sprintf("dev-1/vm%d", i),
			Detail: `{"user_unlock":true}`,
		}
		got, err := s.AppendAudit(ctx, e)
		must(t, "append audit", err)

		want := e
		want.Seq = got.Seq
		checkEqual(t, "appended entry", got, want)
		if len(appended) > 0 && got.Seq <= appended[len(appended)-1].Seq {
			t.Errorf("entry %d has Seq %d, not above %d", i, got.Seq, appended[len(appended)-1].Seq)
		}
		appended = append(appended, got)
	}

	tests := []struct {
		name  string
		after int64
		limit int
		want  []store.AuditEntry
	}{
		{"all", 0, 0, appended},
		{"limit", 0, 2, appended[:2]},
		{"after second", appended[1].Seq, 0, appended[2:]},
		{"after second limit", appended[1].Seq, 2, appended[2:4]},
		{"after last", appended[4].Seq, 10, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAudit(ctx, tc.after, tc.limit)
			must(t, "list audit", err)
			if len(got) != len(tc.want) {
				t.Fatalf("ListAudit returned %d entries, want %d", len(got), len(tc.want))
			}
			for i := range got {
				checkEqual(t, fmt.Sprintf("entry %d", i), got[i], tc.want[i])
			}
		})
	}
}

// checkErrHides reports unless err is target and its message leaves out
// secret, such as the hash of an enrollment token.
func checkErrHides(t *testing.T, what string, err, target error, secret string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want %v", what, err, target)
		return
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("%s: error %q contains the token hash", what, err)
	}
}
