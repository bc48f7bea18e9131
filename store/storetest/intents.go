package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/virmo/virmo/store"
)

func sampleIntent(id string, created int) store.Intent {
	return store.Intent{
		ID:        id,
		DeviceID:  "dev-1",
		VM:        "vm1",
		Kind:      "lock",
		State:     store.IntentPending,
		Params:    []byte(`{"user_unlock":true}`),
		SecretID:  "secret-" + id,
		CreatedAt: at(created),
		UpdatedAt: at(created),
	}
}

func testIntentRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	want := sampleIntent("intent-1", 0)
	want.Error = "previous attempt failed"
	must(t, "create intent", s.CreateIntent(ctx, want))

	got, err := s.GetIntent(ctx, "intent-1")
	must(t, "get intent", err)
	checkEqual(t, "GetIntent", got, want)

	dup := sampleIntent("intent-1", 5)
	dup.Kind = "unlock"
	err = s.CreateIntent(ctx, dup)
	checkErr(t, "CreateIntent duplicate", err, store.ErrConflict, "intent-1")

	got, err = s.GetIntent(ctx, "intent-1")
	must(t, "get intent", err)
	checkEqual(t, "intent after conflict", got, want)

	_, err = s.GetIntent(ctx, "intent-missing")
	checkErr(t, "GetIntent unknown", err, store.ErrNotFound, "intent-missing")
}

func testIntentUpdate(t *testing.T, s store.Store) {
	ctx := context.Background()
	orig := sampleIntent("intent-1", 0)
	must(t, "create intent", s.CreateIntent(ctx, orig))

	update := store.Intent{
		ID:        "intent-1",
		DeviceID:  "ignored",
		VM:        "ignored",
		Kind:      "ignored",
		State:     store.IntentFailed,
		Params:    []byte(`{}`),
		SecretID:  "",
		Error:     "device returned 1402",
		CreatedAt: at(-100),
		UpdatedAt: at(9),
	}
	must(t, "update intent", s.UpdateIntent(ctx, update))

	want := orig
	want.State, want.Params, want.SecretID = update.State, update.Params, update.SecretID
	want.Error, want.UpdatedAt = update.Error, update.UpdatedAt

	got, err := s.GetIntent(ctx, "intent-1")
	must(t, "get intent", err)
	checkEqual(t, "updated intent", got, want)

	update.ID = "intent-missing"
	err = s.UpdateIntent(ctx, update)
	checkErr(t, "UpdateIntent unknown", err, store.ErrNotFound, "intent-missing")
}

func testListIntents(t *testing.T, s store.Store) {
	ctx := context.Background()
	rows := []struct {
		id      string
		vm      string
		state   string
		created int
	}{
		{"i-1", "vm1", store.IntentDone, 1},
		{"i-2", "vm1", store.IntentSuperseded, 3},
		{"i-3", "vm1", store.IntentPending, 5},
		{"i-4", "vm2", store.IntentPending, 4},
		{"i-5", "vm1", store.IntentDone, 2},
	}
	for _, r := range rows {
		in := sampleIntent(r.id, r.created)
		in.VM, in.State = r.vm, r.state
		must(t, "create intent", s.CreateIntent(ctx, in))
	}

	tests := []struct {
		device, vm, state string
		want              []string
	}{
		{"dev-1", "vm1", "", []string{"i-3", "i-2", "i-5", "i-1"}},
		{"dev-1", "vm1", store.IntentDone, []string{"i-5", "i-1"}},
		{"dev-1", "vm1", store.IntentPending, []string{"i-3"}},
		{"dev-1", "vm1", store.IntentCancelled, nil},
		{"dev-1", "vm2", "", []string{"i-4"}},
		{"dev-2", "vm1", "", nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.device, tc.vm, tc.state), func(t *testing.T) {
			list, err := s.ListIntents(ctx, tc.device, tc.vm, tc.state)
			must(t, "list intents", err)

			var got []string
			for _, in := range list {
				got = append(got, in.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("ListIntents = %v, want %v", got, tc.want)
			}
		})
	}
}

func testSecretLifecycle(t *testing.T, s store.Store) {
	ctx := context.Background()
	want := store.Secret{
		ID:        "secret-1",
		DeviceID:  "dev-1",
		VM:        "vm1",
		Sealed:    []byte{0x00, 0x9c, 0xff, 0x10},
		CreatedAt: at(0),
	}
	must(t, "put secret", s.PutSecret(ctx, want))

	got, err := s.GetSecret(ctx, "secret-1")
	must(t, "get secret", err)
	checkEqual(t, "GetSecret", got, want)

	want.Sealed = []byte("resealed with a new key")
	must(t, "overwrite secret", s.PutSecret(ctx, want))
	got, err = s.GetSecret(ctx, "secret-1")
	must(t, "get secret", err)
	checkEqual(t, "GetSecret after overwrite", got, want)

	must(t, "destroy secret", s.DestroySecret(ctx, "secret-1", at(20)))
	want.Sealed = nil
	want.DestroyedAt = at(20)
	got, err = s.GetSecret(ctx, "secret-1")
	must(t, "get secret", err)
	checkEqual(t, "GetSecret after destroy", got, want)

	_, err = s.GetSecret(ctx, "secret-missing")
	checkErr(t, "GetSecret unknown", err, store.ErrNotFound, "secret-missing")
	err = s.DestroySecret(ctx, "secret-missing", at(20))
	checkErr(t, "DestroySecret unknown", err, store.ErrNotFound, "secret-missing")
}

func testSessionLifecycle(t *testing.T, s store.Store) {
	ctx := context.Background()
	want := store.Session{
		DeviceID:  "dev-1",
		SessionID: "0",
		State:     []byte{0x01, 0x00, 0x02},
		UpdatedAt: at(0),
	}
	must(t, "put session", s.PutSession(ctx, want))
	other := store.Session{DeviceID: "dev-2", SessionID: "0", State: []byte("other"), UpdatedAt: at(0)}
	must(t, "put session", s.PutSession(ctx, other))

	got, err := s.GetSession(ctx, "dev-1", "0")
	must(t, "get session", err)
	checkEqual(t, "GetSession", got, want)

	want.State = []byte("next message")
	want.UpdatedAt = at(1)
	must(t, "overwrite session", s.PutSession(ctx, want))
	got, err = s.GetSession(ctx, "dev-1", "0")
	must(t, "get session", err)
	checkEqual(t, "GetSession after overwrite", got, want)

	got, err = s.GetSession(ctx, "dev-2", "0")
	must(t, "get session", err)
	checkEqual(t, "other device's session", got, other)

	_, err = s.GetSession(ctx, "dev-1", "1A")
	checkErr(t, "GetSession unknown", err, store.ErrNotFound, "1A")
}

func testDeleteSessionsBefore(t *testing.T, s store.Store) {
	ctx := context.Background()
	rows := []struct {
		id      string
		updated int // minutes after base; -1 for the zero time
		deleted bool
	}{
		{"s1", 0, true},
		{"s2", 9, true},
		{"s3", 10, false},
		{"s4", 11, false},
		{"s5", -1, true},
	}
	for _, r := range rows {
		sess := store.Session{DeviceID: "dev-1", SessionID: r.id, State: []byte(r.id)}
		if r.updated >= 0 {
			sess.UpdatedAt = at(r.updated)
		}
		must(t, "put session", s.PutSession(ctx, sess))
	}

	n, err := s.DeleteSessionsBefore(ctx, at(10))
	must(t, "delete sessions", err)
	if n != 3 {
		t.Errorf("DeleteSessionsBefore deleted %d, want 3", n)
	}
	for _, r := range rows {
		_, err := s.GetSession(ctx, "dev-1", r.id)
		if r.deleted {
			checkErr(t, "GetSession "+r.id, err, store.ErrNotFound, r.id)
		} else if err != nil {
			t.Errorf("GetSession %s: %v", r.id, err)
		}
	}
}
