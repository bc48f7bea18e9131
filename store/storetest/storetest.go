// Package storetest is the contract suite of store.Store. Every backend runs
// Run unchanged, so the suite uses only the interface and no backend's SQL.
//
// Rules the suite pins beyond the comments of store.Store:
//
//   - Times read back in UTC and equal to what was written, to the
//     microsecond. The zero time reads back as the zero time.
//   - A nil and an empty byte slice, and a nil and an empty DevInfo map,
//     may read back as each other; the suite compares them by content.
//   - Get, Update, Delete and Destroy of an unknown key return
//     store.ErrNotFound, and Create of an existing key store.ErrConflict.
//     Error messages name the key, except for enrollment tokens: their key
//     is the token's hash, which errors must leave out.
//   - EnqueueCommand ignores the caller's Seq, and stores State pending when
//     the command has none. A Seq is never reused, even after pruning.
//   - UpdateIntent overwrites State, Params, SecretID, Error and UpdatedAt.
//   - A token with a zero ExpiresAt never expires. A token expires at its
//     ExpiresAt, so UseEnrollToken with now equal to ExpiresAt fails.
//   - PruneCommands and DeleteSessionsBefore treat a zero UpdatedAt as
//     older than any time.
//   - ListAudit and ListCommands return every row when limit is 0.
//
// Names in the suite are lower-case ASCII, so a byte-wise and a
// locale-aware collation order them the same way.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/virmo/virmo/store"
)

// Run runs the contract suite. open must return a new, empty store for each
// call; Run closes it when the subtest ends, before the cleanups that open
// registered with t.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"DeviceRoundTrip", testDeviceRoundTrip},
		{"DeviceEmptyFields", testDeviceEmptyFields},
		{"DeviceNotFound", testDeviceNotFound},
		{"DeviceConflict", testDeviceConflict},
		{"DeviceUpdate", testDeviceUpdate},
		{"DeviceAuthType", testDeviceAuthType},
		{"ListDevices", testListDevices},
		{"VMRoundTrip", testVMRoundTrip},
		{"VMKeyedByDeviceAndName", testVMKeyedByDeviceAndName},
		{"ListVMsOrder", testListVMsOrder},
		{"DeleteVM", testDeleteVM},
		{"EnqueueAssignsSeq", testEnqueueAssignsSeq},
		{"EnqueueConcurrent", testEnqueueConcurrent},
		{"GetCommand", testGetCommand},
		{"ListCommandsFilter", testListCommandsFilter},
		{"UpdateCommand", testUpdateCommand},
		{"PruneCommands", testPruneCommands},
		{"IntentRoundTrip", testIntentRoundTrip},
		{"IntentUpdate", testIntentUpdate},
		{"ListIntents", testListIntents},
		{"SecretLifecycle", testSecretLifecycle},
		{"SessionLifecycle", testSessionLifecycle},
		{"DeleteSessionsBefore", testDeleteSessionsBefore},
		{"EnrollTokenUse", testEnrollTokenUse},
		{"EnrollTokenConcurrent", testEnrollTokenConcurrent},
		{"Settings", testSettings},
		{"Audit", testAudit},
		{"InTxCommit", testInTxCommit},
		{"InTxRollback", testInTxRollback},
		{"InTxPanic", testInTxPanic},
		{"InTxVisibleInside", testInTxVisibleInside},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close store: %v", err)
				}
			})
			tc.run(t, s)
		})
	}
}

// base is the suite's reference time: microsecond precision, in a zone other
// than UTC so that the suite sees backends convert to UTC.
var base = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.FixedZone("UTC+2", 2*3600))

// at returns base plus n minutes.
func at(n int) time.Time {
	return base.Add(time.Duration(n) * time.Minute)
}

// diff lists the fields in which the structs got and want differ. Times
// compare with Equal and must be in UTC unless zero, byte slices and maps
// compare by content.
func diff(got, want any) []string {
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	var out []string
	for i := range wv.NumField() {
		name := wv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()

		switch w := w.(type) {
		case time.Time:
			g := g.(time.Time)
			switch {
			case !g.Equal(w):
				out = append(out, fmt.Sprintf("%s = %v, want %v", name, g, w))
			case !g.IsZero() && g.Location() != time.UTC:
				out = append(out, fmt.Sprintf("%s in %v, want UTC", name, g.Location()))
			}
		case []byte:
			if !bytes.Equal(g.([]byte), w) {
				out = append(out, fmt.Sprintf("%s = %q, want %q", name, g, w))
			}
		case map[string]string:
			if !maps.Equal(g.(map[string]string), w) {
				out = append(out, fmt.Sprintf("%s = %v, want %v", name, g, w))
			}
		default:
			if g != w {
				out = append(out, fmt.Sprintf("%s = %v, want %v", name, g, w))
			}
		}
	}
	return out
}

// checkEqual reports every field in which got differs from want.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	for _, d := range diff(got, want) {
		t.Errorf("%s: %s", what, d)
	}
}

// checkErr reports unless err is target and its message names key.
func checkErr(t *testing.T, what string, err, target error, key string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want %v", what, err, target)
		return
	}
	if !strings.Contains(err.Error(), key) {
		t.Errorf("%s: error %q does not name %q", what, err, key)
	}
}

// must fails the test now when err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
