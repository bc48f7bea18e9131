package dmsession

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
	"github.com/virmo/virmo/wbxml"
)

// setAuthType changes the credential type of the fixture's device.
func (f *fixture) setAuthType(kind string) {
	f.t.Helper()
	d := f.storedDevice()
	d.AuthType = kind
	if err := f.store.UpdateDevice(context.Background(), d); err != nil {
		f.t.Fatalf("update device: %v", err)
	}
}

// rawPost sends body to url with the given content type and headers and
// returns the response with its body.
func rawPost(t testing.TB, client *http.Client, url, contentType string, body []byte,
	header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp, data
}

// hdrStatus returns the SyncHdr Status of reply and its Chal.
func hdrStatus(t testing.TB, reply *syncml.Message) (int, *syncml.Chal) {
	t.Helper()
	for _, c := range reply.Body.Commands {
		if c.Name == syncml.CmdStatus && c.Cmd == syncml.CmdSyncHdr {
			code, _ := strconv.Atoi(c.Data)
			return code, c.Chal
		}
	}
	t.Fatal("reply has no SyncHdr Status")
	return 0, nil
}

// hmacDevice is a scripted device of an hmac account: it signs each body
// with the client nonce of the last Chal and checks the server's MAC.
type hmacDevice struct {
	*lockstep
}

func (d hmacDevice) sign(body []byte) string {
	return dmauth.FormatHMACHeader(dmauth.HMACHeader{
		Username: testClientUser,
		MAC:      dmauth.ComputeHMAC(testClientUser, testClientSecret, d.clientNonce, body),
	})
}

// post sends body with header mac (none when empty) and returns the
// decoded reply, checking the server's MAC over the exact reply body.
func (d hmacDevice) post(body []byte, mac string) (*syncml.Message, int) {
	t := d.f.t
	t.Helper()
	header := map[string]string{}
	if mac != "" {
		header[HeaderHMAC] = mac
	}
	resp, data := rawPost(t, http.DefaultClient, d.f.srv.URL, syncml.ContentTypeXML, body, header)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP status = %d, want 200", resp.StatusCode)
	}
	reply, err := syncml.Decode(data)
	if err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	if reply.Header.Cred != nil {
		t.Error("reply under hmac carries a SyncHdr Cred")
	}
	code, chal := hdrStatus(t, reply)
	// Only a reply to an authenticated message carries the server's MAC.
	if code == syncml.StatusOK || code == syncml.StatusAuthAccepted {
		h, err := dmauth.ParseHMACHeader(resp.Header.Get(HeaderHMAC))
		if err != nil {
			t.Fatalf("reply %s header: %v", HeaderHMAC, err)
		}
		if h.Username != testServerID ||
			!dmauth.VerifyHMAC(h, testServerSecret, d.serverNonce, data) {
			t.Fatal("reply MAC does not verify with the server password and nonce")
		}
	} else if mac := resp.Header.Get(HeaderHMAC); mac != "" {
		t.Fatalf("reply with SyncHdr status %d carries the server MAC %q", code, mac)
	}
	if chal == nil || chal.Meta == nil || chal.Meta.Type != syncml.AuthMAC || chal.Meta.NextNonce == "" {
		t.Fatalf("SyncHdr Status %d lacks a syncml:auth-MAC Chal with NextNonce", code)
	}
	d.serverMsg = reply.Header.MsgID
	d.takeNonce(reply)
	return reply, code
}

func (d hmacDevice) encode(m *syncml.Message) []byte {
	d.f.t.Helper()
	body, err := syncml.Encode(m)
	if err != nil {
		d.f.t.Fatal(err)
	}
	return body
}

func TestHMACHeaderBadInput(t *testing.T) {
	tests := []struct {
		name string
		// mac returns the header to send for body, or "" for none.
		mac  func(d hmacDevice, body []byte) string
		edit func(body []byte) []byte
		want int
	}{
		{"valid", hmacDevice.sign, nil, syncml.StatusOK},
		{"missing header", func(hmacDevice, []byte) string { return "" }, nil,
			syncml.StatusMissingCredentials},
		{"wrong mac", func(d hmacDevice, body []byte) string {
			return dmauth.FormatHMACHeader(dmauth.HMACHeader{Username: testClientUser,
				MAC: dmauth.ComputeHMAC(testClientUser, "wrong-password", d.clientNonce, body)})
		}, nil, syncml.StatusInvalidCredentials},
		{"body altered after signing", hmacDevice.sign, func(b []byte) []byte {
			return bytes.Replace(b, []byte("Acme"), []byte("Acmf"), 1)
		}, syncml.StatusInvalidCredentials},
		{"wrong user", func(d hmacDevice, body []byte) string {
			return dmauth.FormatHMACHeader(dmauth.HMACHeader{Username: "other",
				MAC: dmauth.ComputeHMAC("other", testClientSecret, d.clientNonce, body)})
		}, nil, syncml.StatusInvalidCredentials},
		{"unparsable header", func(hmacDevice, []byte) string { return "mac" }, nil,
			syncml.StatusInvalidCredentials},
		{"unknown algorithm", func(d hmacDevice, body []byte) string {
			return strings.Replace(d.sign(body), "algorithm=MD5", "algorithm=SHA1", 1)
		}, nil, syncml.StatusInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 0)
			f.setAuthType(store.AuthHMAC)
			d := hmacDevice{f.newDevice("M1")}
			body := d.encode(d.build(credNone, true, pkg1()...))
			mac := tt.mac(d, body)
			if tt.edit != nil {
				body = tt.edit(body)
			}
			reply, code := d.post(body, mac)
			if code != tt.want {
				t.Fatalf("SyncHdr status = %d, want %d", code, tt.want)
			}
			if tt.want != syncml.StatusOK && len(describe(reply)) > 4 {
				t.Errorf("rejected message got server commands: %v", describe(reply))
			}
			if len(mac) > 10 && strings.Contains(f.logs.String(), mac) {
				t.Error("log contains the x-syncml-hmac header")
			}
		})
	}
}

func TestHMACSessionEveryMessageSigned(t *testing.T) {
	f := newFixture(t, 0)
	f.setAuthType(store.AuthHMAC)
	d := hmacDevice{f.newDevice("M2")}

	first := d.encode(d.build(credNone, true, pkg1()...))
	firstMAC := d.sign(first)
	r, code := d.post(first, firstMAC)
	if code != syncml.StatusOK {
		t.Fatalf("package 1 status = %d, want 200", code)
	}
	expect(t, "package 1", r, "Status 1/0 SyncHdr 200 chal", "Status 1/1 Alert 200",
		"Status 1/2 Replace 200", "Get#4 ./VirMO", "Final")

	// A message without a MAC in an authenticated session still gets 407.
	second := d.encode(d.build(credNone, true, d.hdrOK(),
		status(d.serverMsg, "4", syncml.CmdGet, 200), results(d.serverMsg, "4", "./VirMO", "")))
	if _, code := d.post(second, ""); code != syncml.StatusMissingCredentials {
		t.Fatalf("unsigned message status = %d, want 407", code)
	}
	if _, code := d.post(second, d.sign(second)); code != syncml.StatusOK {
		t.Fatalf("signed message status = %d, want 200", code)
	}

	// Replaying package 1 with its MAC: the nonce it was made with is
	// spent, so the server rejects it.
	if _, code := d.post(first, firstMAC); code != syncml.StatusInvalidCredentials {
		t.Fatalf("replayed message status = %d, want 401", code)
	}

	// Switching to md5 in the session ends it.
	switched := d.encode(d.build(credValid, true, d.hdrOK()))
	_, code = d.post(switched, "")
	if code != syncml.StatusInvalidCredentials {
		t.Fatalf("md5 in an hmac session: status = %d, want 401", code)
	}
	for _, secret := range []string{testClientSecret, testServerSecret, firstMAC} {
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("log contains a secret or MAC %q", secret)
		}
	}
}

func TestAuthTypeMismatchChallenge(t *testing.T) {
	tests := []struct {
		account  string
		wantType string
	}{
		{store.AuthHMAC, syncml.AuthMAC},
		{store.AuthBasic, syncml.AuthBasic},
	}
	for _, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			f := newFixture(t, 0)
			f.setAuthType(tt.account)
			d := f.newDevice("X1")
			body, err := syncml.Encode(d.build(credValid, true, pkg1()...))
			if err != nil {
				t.Fatal(err)
			}
			_, data := rawPost(t, http.DefaultClient, f.srv.URL, syncml.ContentTypeXML, body, nil)
			reply, err := syncml.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			code, chal := hdrStatus(t, reply)
			if code != syncml.StatusInvalidCredentials {
				t.Errorf("status = %d, want 401", code)
			}
			if chal == nil || chal.Meta == nil || chal.Meta.Type != tt.wantType {
				t.Errorf("Chal = %+v, want type %s", chal, tt.wantType)
			}
		})
	}
}

func TestBasicRequiresTLS(t *testing.T) {
	f := newFixture(t, 0)
	f.setAuthType(store.AuthBasic)
	tlsSrv := httptest.NewTLSServer(f.srv.Config.Handler)
	t.Cleanup(tlsSrv.Close)

	build := func(sessionID string) []byte {
		d := f.newDevice(sessionID)
		m := d.build(credNone, true, pkg1()...)
		m.Header.Cred = &syncml.Cred{
			Meta: &syncml.Meta{Type: syncml.AuthBasic, Format: "b64"},
			Data: dmauth.BasicCredential(testClientUser, testClientSecret),
		}
		body, err := syncml.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	tests := []struct {
		name   string
		url    string
		client *http.Client
		want   int
	}{
		{"plain http", f.srv.URL, http.DefaultClient, syncml.StatusInvalidCredentials},
		{"tls", tlsSrv.URL, tlsSrv.Client(), syncml.StatusAuthAccepted},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, data := rawPost(t, tt.client, tt.url, syncml.ContentTypeXML,
				build("B"+strconv.Itoa(i)), nil)
			reply, err := syncml.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if code, _ := hdrStatus(t, reply); code != tt.want {
				t.Fatalf("status = %d, want %d", code, tt.want)
			}
		})
	}
	if strings.Contains(f.logs.String(), testClientSecret) {
		t.Error("log contains the client password")
	}
}

func TestWBXMLSessionOpaqueBin(t *testing.T) {
	f := newFixture(t, 0)
	d := f.newDevice("W1")
	authData := []byte{0x00, 0xff, 0x10, '<'}
	f.enqueue(Payload{Command: CommandTemplate{Name: syncml.CmdReplace, Items: []ItemTemplate{{
		Target: "./VirMO/vm1/LockParams/UnlockAuth/AuthData", Format: "b64",
		Data: base64.StdEncoding.EncodeToString(authData), HasData: true}}}})

	send := func(m *syncml.Message) *syncml.Message {
		t.Helper()
		body, err := wbxml.EncodeSyncML(m)
		if err != nil {
			t.Fatalf("encode wbxml: %v", err)
		}
		resp, data := rawPost(t, http.DefaultClient, f.srv.URL, syncml.ContentTypeWBXML, body, nil)
		if ct := resp.Header.Get("Content-Type"); ct != syncml.ContentTypeWBXML {
			t.Fatalf("reply Content-Type = %q, want %q", ct, syncml.ContentTypeWBXML)
		}
		reply, err := wbxml.DecodeSyncML(data)
		if err != nil {
			t.Fatalf("decode wbxml reply: %v", err)
		}
		d.serverMsg = reply.Header.MsgID
		d.takeNonce(reply)
		return reply
	}

	r := send(d.build(credValid, true, pkg1()...))
	expect(t, "package 1", r, "Status 1/0 SyncHdr 212 chal", "Status 1/1 Alert 200",
		"Status 1/2 Replace 200", "Get#4 ./VirMO", "Final")
	r = send(d.build(credNone, true, d.hdrOK(), status(d.serverMsg, "4", syncml.CmdGet, 200),
		results(d.serverMsg, "4", "./VirMO", "")))

	var item *syncml.Item
	for i := range r.Body.Commands {
		if r.Body.Commands[i].Name == syncml.CmdReplace {
			item = &r.Body.Commands[i].Items[0]
		}
	}
	if item == nil {
		t.Fatalf("no Replace in reply: %v", describe(r))
	}
	if item.Meta == nil || item.Meta.Format != "bin" {
		t.Errorf("Replace item Meta = %+v, want Format bin", item.Meta)
	}
	if item.Data == nil || !item.Data.Opaque || item.Data.Value != string(authData) {
		t.Errorf("Replace item Data = %+v, want OPAQUE %x", item.Data, authData)
	}
}

// blockingHooks holds the first AlertReceived until release is closed.
type blockingHooks struct {
	*recordingHooks
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (h *blockingHooks) AlertReceived(ctx context.Context, q store.Queries, id string, a Alert) error {
	h.once.Do(func() {
		close(h.entered)
		<-h.release
	})
	return h.recordingHooks.AlertReceived(ctx, q, id, a)
}

func TestConcurrentResendRunsOnce(t *testing.T) {
	f := newFixture(t, 0)
	hooks := &blockingHooks{recordingHooks: f.hooks, entered: make(chan struct{}),
		release: make(chan struct{})}
	engine := New(Config{Store: f.store, Hooks: hooks, Sealer: f.sealer,
		ServerURL: testServerURL, ServerID: testServerID, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)

	d := f.newDevice("C1")
	body, err := syncml.Encode(d.build(credValid, true,
		pkg1(genericAlert("", "urn:oma:at:virmo:1.0:StateChange", "./VirMO/vm1", "20"))...))
	if err != nil {
		t.Fatal(err)
	}

	replies := make([][]byte, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		_, replies[0] = rawPost(t, http.DefaultClient, srv.URL, syncml.ContentTypeXML, body, nil)
	})
	<-hooks.entered
	wg.Go(func() {
		_, replies[1] = rawPost(t, http.DefaultClient, srv.URL, syncml.ContentTypeXML, body, nil)
	})
	close(hooks.release)
	wg.Wait()

	if !bytes.Equal(replies[0], replies[1]) {
		t.Error("the resend got a different reply than the first copy")
	}
	if n := len(f.hooks.alerts); n != 1 {
		t.Errorf("AlertReceived called %d times, want 1", n)
	}
}

func TestSessionLocksSerialise(t *testing.T) {
	locks := newSessionLocks()
	unlockA := locks.lock("dev", "S1")
	acquired := make(chan struct{})
	go func() {
		unlock := locks.lock("dev", "S1")
		close(acquired)
		unlock()
	}()
	// Another session is independent of the held lock.
	locks.lock("dev", "S2")()
	select {
	case <-acquired:
		t.Fatal("second lock of one session acquired while the first is held")
	default:
	}
	unlockA()
	<-acquired
	locks.mu.Lock()
	defer locks.mu.Unlock()
	if len(locks.locks) != 0 {
		t.Errorf("%d lock entries left after release, want 0", len(locks.locks))
	}
}
