package dmsession

import (
	"strings"
	"testing"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
)

func TestHMACParseErrorLogged(t *testing.T) {
	const mac = "U0VDUkVUTUFDVkFMVUU="
	tests := []struct {
		name, header, want string
	}{
		{"no equals sign", "mac", `missing '=' after parameter \"mac\"`},
		{"missing mac", `username="` + testClientUser + `"`, "missing mac"},
		{"unknown algorithm", `algorithm=SHA1, username="` + testClientUser + `", mac=` + mac,
			"unsupported algorithm"},
		{"trailing comma", `username="` + testClientUser + `", mac=` + mac + `,`,
			"missing parameter name at byte"},
		{"unterminated quote", `username="` + testClientUser + `", mac="` + mac,
			"unterminated quoted value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 0)
			f.setAuthType(store.AuthHMAC)
			d := hmacDevice{f.newDevice("M1")}
			body := d.encode(d.build(credNone, true, pkg1()...))
			_, code := d.post(body, tt.header)
			if code != syncml.StatusInvalidCredentials {
				t.Fatalf("SyncHdr status = %d, want %d", code, syncml.StatusInvalidCredentials)
			}
			logs := f.logs.String()
			if !strings.Contains(logs, `outcome="invalid hmac header"`) {
				t.Errorf("log has no invalid hmac header outcome:\n%s", logs)
			}
			if !strings.Contains(logs, tt.want) {
				t.Errorf("log does not contain the parse error %q:\n%s", tt.want, logs)
			}
			if strings.Contains(logs, mac) {
				t.Errorf("log contains the mac value:\n%s", logs)
			}
		})
	}
}
