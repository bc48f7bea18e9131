package dmsession

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
)

const operationComplete = "urn:oma:at:virmo:1.0:OperationComplete"

func execPayload(op string) Payload {
	return Payload{Command: CommandTemplate{Name: syncml.CmdExec,
		Items: []ItemTemplate{{Target: "./VirMO/vm1/Operations/" + op}}}}
}

func replacePayload(leaf, format, data string) Payload {
	return Payload{Command: CommandTemplate{Name: syncml.CmdReplace,
		Items: []ItemTemplate{{Target: "./VirMO/vm1/" + leaf, Format: format, Data: data,
			HasData: true}}}}
}

func TestExecAcceptedThenAlertCompletes(t *testing.T) {
	f := newFixture(t, 0)
	seq := f.enqueue(execPayload("Lock"))
	d := f.newDevice("E1")

	reply := d.openSession()
	expect(t, "queued Exec sent", reply,
		"Status 2/0 SyncHdr 212", "Exec#2 c1 ./VirMO/vm1/Operations/Lock", "Final")
	cmd := f.command(seq)
	if cmd.State != store.CommandSent || cmd.Attempts != 1 || cmd.SessionID != "E1" {
		t.Fatalf("command after send = %s attempts %d session %q, want sent 1 E1",
			cmd.State, cmd.Attempts, cmd.SessionID)
	}

	reply = d.send(d.build(credNone, true, d.hdrOK(), status("2", "2", syncml.CmdExec, 202)))
	expect(t, "202 ends the session", reply, "Status 3/0 SyncHdr 212", "Final")
	if cmd := f.command(seq); cmd.State != store.CommandSent || cmd.Status != 202 {
		t.Fatalf("command after 202 = %s status %d, want sent 202", cmd.State, cmd.Status)
	}
	if len(f.hooks.answered) != 0 {
		t.Fatalf("CommandAnswered called on 202: %+v", f.hooks.answered)
	}

	// The next session reports the result; the Exec is not sent again.
	d.newSession("E2")
	alert := genericAlert("c1", operationComplete, "./VirMO/vm1/Operations/Lock", "1200")
	reply = d.send(d.build(credValid, true, pkg1(alert)...))
	expect(t, "alert answered", reply,
		"Status 1/0 SyncHdr 212 chal", "Status 1/1 Alert 200", "Status 1/2 Replace 200",
		"Status 1/3 Alert 200", "Get#5 ./VirMO", "Final")
	reply = d.send(d.build(credNone, true, d.hdrOK(), status("1", "5", syncml.CmdGet, 200),
		results("1", "5", "./VirMO", "")))
	expect(t, "nothing left to send", reply, "Status 2/0 SyncHdr 212", "Final")

	want := []answeredCall{{Seq: seq, State: store.CommandDone, Status: 1200, Result: "1200"}}
	if !reflect.DeepEqual(f.hooks.answered, want) {
		t.Fatalf("CommandAnswered calls = %+v, want %+v", f.hooks.answered, want)
	}
	if len(f.hooks.alerts) != 0 {
		t.Fatalf("matched alert also reported as unmatched: %+v", f.hooks.alerts)
	}
}

func TestAlertBeforeStatusInOneMessage(t *testing.T) {
	f := newFixture(t, 0)
	seq := f.enqueue(execPayload("Stop"))
	d := f.newDevice("E3")
	d.openSession()

	alert := genericAlert("c1", operationComplete, "./VirMO/vm1/Operations/Stop", "1410")
	reply := d.send(d.build(credNone, true, d.hdrOK(), alert,
		status("2", "2", syncml.CmdExec, 202)))
	expect(t, "alert and status", reply, "Status 3/0 SyncHdr 212", "Status 3/2 Alert 200", "Final")

	want := []answeredCall{{Seq: seq, State: store.CommandFailed, Status: 1410, Result: "1410"}}
	if !reflect.DeepEqual(f.hooks.answered, want) {
		t.Fatalf("CommandAnswered calls = %+v, want %+v", f.hooks.answered, want)
	}
	if cmd := f.command(seq); cmd.State != store.CommandFailed || cmd.Status != 1410 {
		t.Fatalf("command = %s status %d, want failed 1410", cmd.State, cmd.Status)
	}
}

func TestUnmatchedAlertGoesToHook(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("G1")
	alert := genericAlert("", "urn:oma:at:virmo:1.0:UserUnlock", "./VirMO/vm1/LockParams", "1200")
	d.send(d.build(credValid, true, pkg1(alert)...))

	want := []Alert{{Type: "urn:oma:at:virmo:1.0:UserUnlock", Format: "int",
		Mark: "informational", Source: "./VirMO/vm1/LockParams", Data: "1200"}}
	if !reflect.DeepEqual(f.hooks.alerts, want) {
		t.Fatalf("AlertReceived calls = %+v, want %+v", f.hooks.alerts, want)
	}
}

// lockSequence is the lock-with-user-unlock pair of commands the server
// queues: an Add of UnlockAuth (418 accepted) and a Sequence.
func lockSequence() (Payload, Payload) {
	add := Payload{
		Command: CommandTemplate{Name: syncml.CmdAdd, Items: []ItemTemplate{
			{Target: "./VirMO/vm1/LockParams/UnlockAuth", Format: "node"}}},
		AcceptStatuses: []int{418},
	}
	seq := Payload{
		SecretID: "sec-1",
		Command: CommandTemplate{Name: syncml.CmdSequence, Commands: []CommandTemplate{
			replacePayload("LockParams/UnlockAuth/AuthType", "int", "0").Command,
			replacePayload("LockParams/UnlockAuth/AuthData", "b64", PlaceholderAuthData).Command,
			replacePayload("LockParams/UnlockAuth/AuthDigest", "b64", PlaceholderAuthDigest).Command,
			replacePayload("LockParams/UserUnlock", "bool", "true").Command,
			execPayload("Lock").Command,
		}},
	}
	return add, seq
}

func TestSequenceFillsPlaceholders(t *testing.T) {
	f := newFixture(t, 0)
	authData := []byte("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff")
	digest, _ := hex.DecodeString("d70037724193e2138473267f7a7d3e6708cb3e083f3cecc64d0f0e7e4f8353de")
	f.hooks.unlock["sec-1"] = [2][]byte{authData, digest}
	add, sequence := lockSequence()
	addSeq := f.enqueue(add)
	seqSeq := f.enqueue(sequence)
	d := f.newDevice("L1")

	reply := d.openSession()
	expect(t, "lock commands", reply,
		"Status 2/0 SyncHdr 212",
		"Add#2 ./VirMO/vm1/LockParams/UnlockAuth=",
		"Sequence#3{Replace#4 ./VirMO/vm1/LockParams/UnlockAuth/AuthType=0; "+
			"Replace#5 ./VirMO/vm1/LockParams/UnlockAuth/AuthData=ABEiM0RVZneImaq7zN3u/w==; "+
			"Replace#6 ./VirMO/vm1/LockParams/UnlockAuth/AuthDigest="+
			"1wA3ckGT4hOEcyZ/en0+ZwjLPgg/POzGTQ8Ofk+DU94=; "+
			"Replace#7 ./VirMO/vm1/LockParams/UserUnlock=true; "+
			"Exec#8 c2 ./VirMO/vm1/Operations/Lock}",
		"Final")

	// A byte-identical resend gets the stored reply, which holds the digest
	// only sealed.
	again := d.sendBytes(d.lastSent)
	if !reflect.DeepEqual(describe(again), describe(reply)) {
		t.Fatalf("resend reply differs:\n%v\nwant\n%v", describe(again), describe(reply))
	}

	answers := []syncml.Command{d.hdrOK(), status("2", "2", syncml.CmdAdd, 418),
		status("2", "3", syncml.CmdSequence, 200)}
	for _, id := range []string{"4", "5", "6", "7"} {
		answers = append(answers, status("2", id, syncml.CmdReplace, 200))
	}
	answers = append(answers, status("2", "8", syncml.CmdExec, 202),
		genericAlert("c2", operationComplete, "./VirMO/vm1/Operations/Lock", "1200"))
	d.send(d.build(credNone, true, answers...))

	want := []answeredCall{
		{Seq: addSeq, State: store.CommandDone, Status: 418},
		{Seq: seqSeq, State: store.CommandDone, Status: 1200, Result: "1200"},
	}
	if !reflect.DeepEqual(f.hooks.answered, want) {
		t.Fatalf("CommandAnswered calls = %+v, want %+v", f.hooks.answered, want)
	}

	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, secret := range [][]byte{digest, authData} {
		for _, form := range [][]byte{secret, []byte(base64.StdEncoding.EncodeToString(secret)),
			[]byte(hex.EncodeToString(secret))} {
			assertNotInFiles(t, f.dir, form)
			if bytes.Contains(f.logs.Bytes(), form) {
				t.Errorf("log output contains unlock material %q", form)
			}
		}
	}
}

// assertNotInFiles fails when any file of dir (the database, its WAL and
// shared memory) contains needle.
func assertNotInFiles(t *testing.T, dir string, needle []byte) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatalf("no database files in %s", dir)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, needle) {
			t.Errorf("file %s contains unlock material %q", e.Name(), needle)
		}
	}
}

func TestSequenceStopsAtFirstFailure(t *testing.T) {
	f := newFixture(t, 0)
	f.hooks.unlock["sec-1"] = [2][]byte{[]byte("salt"), []byte("digest")}
	_, sequence := lockSequence()
	seq := f.enqueue(sequence)
	d := f.newDevice("L2")
	d.openSession()

	answers := []syncml.Command{d.hdrOK(), status("2", "2", syncml.CmdSequence, 200),
		status("2", "3", syncml.CmdReplace, 200), status("2", "4", syncml.CmdReplace, 200),
		status("2", "5", syncml.CmdReplace, 415), status("2", "6", syncml.CmdReplace, 215),
		status("2", "7", syncml.CmdExec, 215)}
	d.send(d.build(credNone, true, answers...))

	want := []answeredCall{{Seq: seq, State: store.CommandFailed, Status: 415}}
	if !reflect.DeepEqual(f.hooks.answered, want) {
		t.Fatalf("CommandAnswered calls = %+v, want %+v", f.hooks.answered, want)
	}
}

func TestStatusMatchedByRefs(t *testing.T) {
	f := newFixture(t, 0)
	first := f.enqueue(replacePayload("Name", "chr", "alpha"))
	second := f.enqueue(replacePayload("Description", "chr", "beta"))
	d := f.newDevice("M1")
	reply := d.openSession()
	expect(t, "two commands", reply, "Status 2/0 SyncHdr 212",
		"Replace#2 ./VirMO/vm1/Name=alpha", "Replace#3 ./VirMO/vm1/Description=beta", "Final")

	// Statuses out of order, one for a CmdID never sent and one naming
	// another message.
	d.send(d.build(credNone, true,
		status("2", "3", syncml.CmdReplace, 404),
		status("2", "99", syncml.CmdReplace, 200),
		status("1", "2", syncml.CmdReplace, 500),
		status("2", "2", syncml.CmdReplace, 200),
		d.hdrOK()))

	want := []answeredCall{
		{Seq: second, State: store.CommandFailed, Status: 404},
		{Seq: first, State: store.CommandDone, Status: 200},
	}
	if !reflect.DeepEqual(f.hooks.answered, want) {
		t.Fatalf("CommandAnswered calls = %+v, want %+v", f.hooks.answered, want)
	}
	if n := strings.Count(f.logs.String(), "ignore unmatched status"); n != 2 {
		t.Fatalf("unmatched status logged %d times, want 2", n)
	}
}

func TestQueuedGetReturnsResults(t *testing.T) {
	f := newFixture(t, 0)
	seq := f.enqueue(Payload{Command: CommandTemplate{Name: syncml.CmdGet,
		Items: []ItemTemplate{{Target: "./VirMO/vm1/Ext/UnlockAttempts"}}}})
	d := f.newDevice("Q1")
	reply := d.openSession()
	expect(t, "queued Get", reply, "Status 2/0 SyncHdr 212",
		"Get#2 ./VirMO/vm1/Ext/UnlockAttempts", "Final")

	d.send(d.build(credNone, true, d.hdrOK(), status("2", "2", syncml.CmdGet, 200),
		results("2", "2", "./VirMO/vm1/Ext/UnlockAttempts", "3")))
	want := []answeredCall{{Seq: seq, State: store.CommandDone, Status: 200, Result: "3"}}
	if !reflect.DeepEqual(f.hooks.answered, want) {
		t.Fatalf("CommandAnswered calls = %+v, want %+v", f.hooks.answered, want)
	}
}

func TestUnansweredCommandRetriedThenFails(t *testing.T) {
	f := newFixture(t, 2)
	seq := f.enqueue(execPayload("Start"))
	d := f.newDevice("T1")

	for i, session := range []string{"T1", "T2"} {
		d.newSession(session)
		reply := d.openSession()
		expect(t, "attempt "+session, reply,
			"Status 2/0 SyncHdr 212", "Exec#2 c1 ./VirMO/vm1/Operations/Start", "Final")
		// The device answers the SyncHdr only, so the Exec stays unanswered.
		reply = d.send(d.build(credNone, true, d.hdrOK()))
		expect(t, "session end "+session, reply, "Status 3/0 SyncHdr 212", "Final")
		if got := f.command(seq).Attempts; got != i+1 {
			t.Fatalf("attempts after %s = %d, want %d", session, got, i+1)
		}
	}

	d.newSession("T3")
	reply := d.openSession()
	expect(t, "attempts used up", reply, "Status 2/0 SyncHdr 212", "Final")
	want := []answeredCall{{Seq: seq, State: store.CommandFailed}}
	if !reflect.DeepEqual(f.hooks.answered, want) {
		t.Fatalf("CommandAnswered calls = %+v, want %+v", f.hooks.answered, want)
	}
	if cmd := f.command(seq); cmd.Error != "no answer after 2 attempts" {
		t.Fatalf("command error = %q", cmd.Error)
	}
}

func TestBadPayloadFailsCommand(t *testing.T) {
	tests := []struct {
		name    string
		payload Payload
		want    string
	}{
		{"client command", Payload{Command: CommandTemplate{Name: syncml.CmdResults,
			Items: []ItemTemplate{{Target: "./A"}}}}, `command "Results" cannot be queued`},
		{"exec in atomic", Payload{Command: CommandTemplate{Name: syncml.CmdAtomic,
			Commands: []CommandTemplate{execPayload("Lock").Command}}},
			`command "Exec" is not allowed in Atomic`},
		{"item without target", Payload{Command: CommandTemplate{Name: syncml.CmdGet,
			Items: []ItemTemplate{{}}}}, "item has no target"},
		{"placeholder without secret", replacePayload("X", "b64", PlaceholderAuthDigest),
			"item data ${AuthDigest} needs a secret_id"},
		{"unknown secret", Payload{SecretID: "gone", Command: replacePayload("X", "b64",
			PlaceholderAuthData).Command}, "unlock secret gone is unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 0)
			seq := f.enqueue(tt.payload)
			d := f.newDevice("B1")
			reply := d.openSession()
			expect(t, "nothing sendable", reply, "Status 2/0 SyncHdr 212", "Final")
			cmd := f.command(seq)
			if cmd.State != store.CommandFailed || cmd.Error != tt.want {
				t.Fatalf("command = %s %q, want failed %q", cmd.State, cmd.Error, tt.want)
			}
		})
	}
}

func TestMaxMsgSizeSplitsBatch(t *testing.T) {
	f := newFixture(t, 0)
	first := f.enqueue(replacePayload("Name", "chr", strings.Repeat("a", 300)))
	second := f.enqueue(replacePayload("Description", "chr", strings.Repeat("b", 300)))
	d := f.newDevice("MS1")
	m := d.build(credValid, true, pkg1()...)
	m.Header.Meta = &syncml.Meta{MaxMsgSize: "1400"}
	d.send(m)

	reply := d.send(d.build(credNone, true, d.hdrOK(), status("1", "4", syncml.CmdGet, 200),
		results("1", "4", "./VirMO", "")))
	expect(t, "first batch", reply, "Status 2/0 SyncHdr 212",
		"Replace#2 ./VirMO/vm1/Name="+strings.Repeat("a", 300), "Final")
	if got := f.command(second).State; got != store.CommandPending {
		t.Fatalf("second command = %s after the first batch, want pending", got)
	}

	reply = d.send(d.build(credNone, true, d.hdrOK(), status("2", "2", syncml.CmdReplace, 200)))
	expect(t, "second batch", reply, "Status 3/0 SyncHdr 212",
		"Replace#2 ./VirMO/vm1/Description="+strings.Repeat("b", 300), "Final")
	if got := f.command(first).State; got != store.CommandDone {
		t.Fatalf("first command = %s, want done", got)
	}
}
