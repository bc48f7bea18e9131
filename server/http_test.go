package server

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/apiclient"
)

// serve starts the server's Handler on a loopback test server and returns
// its URL and the admin token.
func (e *testEnv) serve() (string, string) {
	e.t.Helper()
	token, err := e.srv.EnsureAdminToken(e.ctx)
	if err != nil {
		e.t.Fatalf("admin token: %v", err)
	}
	ts := httptest.NewServer(e.srv.Handler())
	e.t.Cleanup(ts.Close)
	return ts.URL, token
}

func wantAPIError(t *testing.T, err error, status int, text string) {
	t.Helper()
	var apiErr *apiclient.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want an *apiclient.Error", err)
	}
	if apiErr.StatusCode != status {
		t.Errorf("status = %d (%s), want %d", apiErr.StatusCode, apiErr.Message, status)
	}
	if !strings.Contains(apiErr.Message, text) {
		t.Errorf("message = %q, want it to contain %q", apiErr.Message, text)
	}
}

func TestAPIClientRoundTrip(t *testing.T) {
	e := newTestEnv(t)
	url, token := e.serve()
	client := apiclient.New(url, token, nil)
	ctx := e.ctx

	enrollToken, err := client.CreateEnrollToken(ctx, "phone", 10*time.Minute)
	if err != nil {
		t.Fatalf("create enrollment token: %v", err)
	}
	if !enrollToken.ExpiresAt.Equal(e.clock.now.Add(10 * time.Minute)) {
		t.Errorf("expires at %v, want 10 minutes from now", enrollToken.ExpiresAt)
	}
	anonymous := apiclient.New(url, "", nil)
	enrollment, err := anonymous.Enroll(ctx, api.EnrollRequest{Token: enrollToken.Token, DevID: "IMEI:9"})
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	device := enrollment.DeviceID
	e.observe(device, observedVM("vm1"))

	devices, err := client.ListDevices(ctx)
	if err != nil || len(devices) != 1 || devices[0].ID != device {
		t.Fatalf("list devices = %+v, %v; want %s", devices, err, device)
	}
	got, err := client.GetDevice(ctx, device)
	if err != nil || got.DevID != "IMEI:9" {
		t.Errorf("get device = %+v, %v; want devid IMEI:9", got, err)
	}
	vms, err := client.ListVMs(ctx, device)
	if err != nil || len(vms) != 1 || vms[0].VM != "vm1" {
		t.Errorf("list VMs = %+v, %v; want vm1", vms, err)
	}
	if all, err := client.ListVMs(ctx, ""); err != nil || len(all) != 1 {
		t.Errorf("list all VMs = %+v, %v; want one", all, err)
	}

	lock, err := client.Lock(ctx, device, "vm1", api.LockRequest{UserUnlock: true})
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	if lock.Secret == "" || lock.Intent.State != "pending" || lock.Intent.Kind != "lock" {
		t.Errorf("lock = %+v, want a pending lock intent with a secret", lock)
	}
	vm, err := client.GetVM(ctx, device, "vm1")
	if err != nil || vm.LockState != "lock_pending" {
		t.Errorf("VM = %+v, %v; want lock_pending", vm, err)
	}
	intent, err := client.GetIntent(ctx, lock.Intent.ID)
	if err != nil || intent.ID != lock.Intent.ID {
		t.Errorf("get intent = %+v, %v", intent, err)
	}
	cmds, err := client.ListCommands(ctx, device)
	if err != nil || len(cmds) != 2 || cmds[0].Intent != lock.Intent.ID {
		t.Errorf("commands = %+v, %v; want the 2 lock commands", cmds, err)
	}

	e.completeIntent(device, lock.Intent.ID)
	revealed, err := client.RevealSecret(ctx, device, "vm1", api.RevealRequest{Reason: "support"})
	if err != nil || revealed.Secret != lock.Secret {
		t.Errorf("reveal = %v; want the lock's secret", err)
	}
	_, err = client.Operation(ctx, device, "vm1", "start")
	wantAPIError(t, err, http.StatusConflict, "unlock it first")

	unlock, err := client.Unlock(ctx, device, "vm1")
	if err != nil || unlock.Intent.Kind != "unlock" {
		t.Fatalf("unlock = %+v, %v", unlock, err)
	}
	e.completeIntent(device, unlock.Intent.ID)
	start, err := client.Operation(ctx, device, "vm1", "start")
	if err != nil || start.Intent.Kind != "start" {
		t.Errorf("start = %+v, %v", start, err)
	}

	entries, err := client.Audit(ctx, 0, 0)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	var actions []string
	for _, entry := range entries {
		actions = append(actions, entry.Action)
	}
	for _, want := range []string{"enroll_token.create", "device.enroll", "vm.lock", "secret.reveal", "vm.unlock", "vm.start"} {
		if !contains(actions, want) {
			t.Errorf("audit has no %s: %v", want, actions)
		}
	}
	page, err := client.Audit(ctx, entries[0].Seq, 1)
	if err != nil || len(page) != 1 || page[0].Seq <= entries[0].Seq {
		t.Errorf("audit page = %+v, %v; want one entry after %d", page, err, entries[0].Seq)
	}
}

func TestAPIRejectsMissingToken(t *testing.T) {
	e := newTestEnv(t)
	url, token := e.serve()
	tests := []struct {
		name, token, want string
	}{
		{"no token", "", "missing bearer token"},
		{"wrong token", "x" + token, "invalid bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := apiclient.New(url, tt.token, nil)
			_, err := client.ListDevices(e.ctx)
			wantAPIError(t, err, http.StatusUnauthorized, tt.want)
			_, err = client.CreateEnrollToken(e.ctx, "", 0)
			wantAPIError(t, err, http.StatusUnauthorized, tt.want)
		})
	}
}

func TestAPIBadInput(t *testing.T) {
	e := newTestEnv(t)
	url, token := e.serve()
	device := e.deviceWithVM("vm1")
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"unknown field", "POST", "/api/v1/devices/" + device + "/vms/vm1/lock",
			`{"user_unlock":true,"colour":"red"}`, 400, `unknown field "colour"`},
		{"not JSON", "POST", "/api/v1/devices/" + device + "/vms/vm1/lock", `{`, 400, "invalid JSON"},
		{"string for bool", "POST", "/api/v1/devices/" + device + "/vms/vm1/lock",
			`{"user_unlock":"maybe"}`, 400, "field user_unlock (virmo flag --user-unlock): want true or false, got string"},
		{"fraction for integer", "POST", "/api/v1/enrollment-tokens", `{"ttl_seconds":0.5}`, 400,
			"field ttl_seconds (virmo flag --ttl): want a whole number, got number 0.5"},
		{"number for string", "POST", "/api/v1/devices/" + device + "/vms/vm1/secret:reveal",
			`{"reason":5}`, 400, "field reason (virmo flag --reason): want a string, got number"},
		{"array body", "POST", "/api/v1/devices/" + device + "/vms/vm1/lock", `[]`, 400,
			"the body is a JSON array, not an object"},
		{"bad literal", "POST", "/api/v1/devices/" + device + "/vms/vm1/lock",
			`{"user_unlock":tru}`, 400, "at byte"},
		{"two values", "POST", "/api/v1/devices/" + device + "/vms/vm1/unlock", `{} {}`, 400,
			"one object"},
		{"too large", "POST", "/api/v1/devices/" + device + "/vms/vm1/lock",
			`{"secret":"` + strings.Repeat("a", maxBodyBytes) + `"}`, 413, "limit of 65536 bytes"},
		{"bad limit", "GET", "/api/v1/audit?limit=abc", "", 400, `invalid limit "abc"`},
		{"limit too big", "GET", "/api/v1/audit?limit=5000", "", 400, "1 to 1000"},
		{"negative after", "GET", "/api/v1/audit?after=-1", "", 400, `invalid after "-1"`},
		{"bad ttl", "POST", "/api/v1/enrollment-tokens", `{"ttl_seconds":-5}`, 400,
			"invalid ttl_seconds -5"},
		{"unknown VM", "POST", "/api/v1/devices/" + device + "/vms/vm7/lock", `{}`, 404,
			"known VMs: vm1"},
		{"unknown device", "GET", "/api/v1/devices/dev-00000000", "", 404, `"dev-00000000" not found`},
		{"unknown action", "POST", "/api/v1/devices/" + device + "/vms/vm1/reboot", `{}`, 404,
			`"reboot"`},
		{"unknown intent", "GET", "/api/v1/intents/int-x", "", 404, `"int-x" not found`},
		{"unknown path", "GET", "/api/v1/nothing", "", 404, "no API endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, url+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatalf("build request: %v", err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, tt.status, body)
			}
			if !strings.Contains(string(body), tt.want) && !strings.Contains(string(body), strings.ReplaceAll(tt.want, `"`, `\"`)) {
				t.Errorf("body = %s, want it to contain %s", body, tt.want)
			}
			for _, internal := range []string{"Go struct", "Go value", "strconv", "int64", "Request."} {
				if strings.Contains(string(body), internal) {
					t.Errorf("body = %s, leaks the Go detail %q", body, internal)
				}
			}
		})
	}
	if got := e.vm(device, "vm1").LockState; got != "unlocked" {
		t.Errorf("lock state = %q after bad requests, want unlocked", got)
	}
}

func TestAPIBearerSchemeCaseInsensitive(t *testing.T) {
	e := newTestEnv(t)
	url, token := e.serve()
	tests := []struct {
		name, header string
		status       int
	}{
		{"canonical", "Bearer " + token, http.StatusOK},
		{"lowercase", "bearer " + token, http.StatusOK},
		{"uppercase", "BEARER " + token, http.StatusOK},
		{"extra spaces", "Bearer   " + token + " ", http.StatusOK},
		{"basic scheme", "Basic " + token, http.StatusUnauthorized},
		{"no token", "bearer ", http.StatusUnauthorized},
		{"token only", token, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", url+"/api/v1/devices", nil)
			if err != nil {
				t.Fatalf("build request: %v", err)
			}
			req.Header.Set("Authorization", tt.header)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	e := newTestEnv(t)
	url, _ := e.serve()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatalf("get /healthz: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Errorf("healthz = %d %s, want 200 {\"status\":\"ok\"}", resp.StatusCode, body)
	}
}

// FuzzLockBody sends arbitrary bodies to the lock endpoint: none may
// panic or return 500, and a rejected body must leave the VM unlocked.
func FuzzLockBody(f *testing.F) {
	for _, seed := range []string{`{}`, `{"user_unlock":true}`, `{"secret":"abcd","user_unlock":true}`,
		`{"user_unlock":"yes"}`, `[]`, `null`, "\x00", `{"secret":"\ud800"}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := newTestEnv(t)
		device := e.deviceWithVM("vm1")
		req := httptest.NewRequest("POST", "/api/v1/devices/"+device+"/vms/vm1/lock", strings.NewReader(body))
		token, _ := e.srv.EnsureAdminToken(e.ctx)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest:
			if got := e.vm(device, "vm1").LockState; got != "unlocked" {
				t.Errorf("rejected body left lock state %q", got)
			}
		default:
			t.Errorf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
	})
}
