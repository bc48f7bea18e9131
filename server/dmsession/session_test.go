package dmsession

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
)

func TestResendGetsSameReply(t *testing.T) {
	f := newFixture(t, 0)
	seq := f.enqueue(execPayload("Pause"))
	d := f.newDevice("RS1")
	d.openSession()

	answer := d.build(credNone, true, d.hdrOK(), status("2", "2", syncml.CmdExec, 202),
		genericAlert("c1", operationComplete, "./VirMO/vm1/Operations/Pause", "1200"))
	body, err := syncml.Encode(answer)
	if err != nil {
		t.Fatal(err)
	}
	_, first := f.post(body)
	nonce := f.storedDevice().ClientNonce
	_, second := f.post(body)

	if !bytes.Equal(first, second) {
		t.Fatalf("resend reply differs:\n%s\nwant\n%s", second, first)
	}
	want := []answeredCall{{Seq: seq, State: store.CommandDone, Status: 1200, Result: "1200"}}
	if !reflect.DeepEqual(f.hooks.answered, want) {
		t.Fatalf("CommandAnswered calls = %+v, want %+v", f.hooks.answered, want)
	}
	if !bytes.Equal(f.storedDevice().ClientNonce, nonce) {
		t.Fatalf("resend changed the client nonce")
	}
}

func TestResendOfPackage1KeepsNonce(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("RS2")
	first := d.send(d.build(credValid, true, pkg1()...))
	nonce := f.storedDevice().ClientNonce

	again := d.sendBytes(d.lastSent)
	if !reflect.DeepEqual(describe(again), describe(first)) {
		t.Fatalf("resend reply = %v, want %v", describe(again), describe(first))
	}
	if !bytes.Equal(f.storedDevice().ClientNonce, nonce) {
		t.Fatalf("resend rotated the client nonce again")
	}
}

func TestSameMsgIDNewBodyGets400(t *testing.T) {
	f := newFixture(t, 0)
	f.enqueue(execPayload("Lock"))
	d := f.newDevice("RS3")
	d.openSession()

	d.msgID-- // reuse MsgID 2 with another body
	reply := d.send(d.build(credNone, true, d.hdrOK(), status("2", "9", syncml.CmdGet, 200)))
	expect(t, "duplicate MsgID", reply, "Status 2/0 SyncHdr 400", "Final")
}

func TestHookFailureRollsBackMessage(t *testing.T) {
	f := newFixture(t, 0)
	seq := f.enqueue(replacePayload("Name", "chr", "alpha"))
	d := f.newDevice("HF1")
	d.openSession()

	answer := d.build(credNone, true, d.hdrOK(), status("2", "2", syncml.CmdReplace, 200))
	body, err := syncml.Encode(answer)
	if err != nil {
		t.Fatal(err)
	}
	f.hooks.failAnswered = errors.New("store unavailable")
	resp, _ := f.post(body)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("HTTP status = %d, want 500", resp.StatusCode)
	}
	if cmd := f.command(seq); cmd.State != store.CommandSent || cmd.Status != 0 {
		t.Fatalf("command after failed message = %s status %d, want sent 0", cmd.State, cmd.Status)
	}

	f.hooks.failAnswered = nil
	reply := d.sendBytes(body)
	expect(t, "resent after failure", reply, "Status 3/0 SyncHdr 212", "Final")
	if cmd := f.command(seq); cmd.State != store.CommandDone {
		t.Fatalf("command after resend = %s, want done", cmd.State)
	}
}

func TestSessionAbort(t *testing.T) {
	f := newFixture(t, 0)
	f.enqueue(execPayload("Lock"))
	d := f.newDevice("AB1")
	d.send(d.build(credValid, true, pkg1()...))

	reply := d.send(d.build(credNone, true, d.hdrOK(),
		syncml.Command{Name: syncml.CmdAlert, Data: "1223"}))
	expect(t, "abort", reply, "Status 2/0 SyncHdr 212", "Status 2/2 Alert 200", "Final")

	row, err := f.store.GetSession(context.Background(), testDeviceID, "AB1")
	if err != nil {
		t.Fatal(err)
	}
	st, err := decodeState(row.State)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Ended {
		t.Fatalf("session not ended after Alert 1223")
	}
}

func TestClientCommandsRejected(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("CC1")
	get := syncml.Command{Name: syncml.CmdGet,
		Items: []syncml.Item{{Target: &syncml.Locator{LocURI: "./DevDetail"}}}}
	sync := syncml.Command{Name: "Sync"}
	display := syncml.Command{Name: syncml.CmdAlert, Data: "1100"}
	replace := syncml.Command{Name: syncml.CmdReplace, Items: []syncml.Item{{
		Target: &syncml.Locator{LocURI: "./VirMO/vm1/Name"}, Data: syncml.NewData("x")}}}
	reply := d.send(d.build(credValid, true, pkg1(get, sync, display, replace)...))
	expect(t, "client commands", reply,
		"Status 1/0 SyncHdr 212 chal", "Status 1/1 Alert 200", "Status 1/2 Replace 200",
		"Status 1/3 Get 405", "Status 1/4 Sync 406", "Status 1/5 Alert 406",
		"Status 1/6 Replace 405", "Get#8 ./VirMO", "Final")
}

func TestMultiMessagePackage(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("MM1")
	reply := d.send(d.build(credValid, false, pkg1()...))
	expect(t, "first message of package 1", reply,
		"Status 1/0 SyncHdr 212 chal", "Status 1/1 Alert 200", "Status 1/2 Replace 200",
		"Alert#4 1222")

	alert := genericAlert("", "urn:oma:at:virmo:1.0:StateChange", "./VirMO/vm1/State", "50")
	reply = d.send(d.build(credNone, true, d.hdrOK(), alert))
	expect(t, "last message of package 1", reply,
		"Status 2/0 SyncHdr 212", "Status 2/2 Alert 200", "Get#3 ./VirMO", "Final")
}

func TestEndedSessionStartsAfresh(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("EA1")
	reply := d.openSession()
	expect(t, "session ends", reply, "Status 2/0 SyncHdr 212", "Final")

	// A device that reuses the SessionID must authenticate again.
	d.newSession("EA1")
	reply = d.send(d.build(credNone, true, pkg1()...))
	expect(t, "reused SessionID", reply, "Status 1/0 SyncHdr 407 chal",
		"Status 1/1 Alert 407", "Status 1/2 Replace 407", "Final")
}
