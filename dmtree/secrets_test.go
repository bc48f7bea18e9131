package dmtree_test

import (
	"context"
	"strings"
	"testing"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/mo/dmacc"
	"github.com/virmo/virmo/syncml"
)

func TestListsLeaveOutDMAccSecrets(t *testing.T) {
	tree := dmtree.New(dmtree.Options{})
	if err := tree.Mount(dmacc.New()); err != nil {
		t.Fatal(err)
	}
	err := tree.Update(func(tx *dmtree.Tx) error {
		return dmacc.Provision(tx, dmacc.Account{
			ServerID: "srv", ServerURL: "http://127.0.0.1/dm",
			ClientUser: "dev", ClientPassword: "client-secret-pw",
			ServerUser: "srv", ServerPassword: "server-secret-pw",
			ClientNonce: []byte("nonce-one"), ServerNonce: []byte("nonce-two"),
		})
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, list := range []string{"StructData", "TNDS", "Struct"} {
		t.Run(list, func(t *testing.T) {
			cmd := syncml.Command{Name: syncml.CmdGet, CmdID: "1", Items: []syncml.Item{
				{Target: &syncml.Locator{LocURI: "./DMAcc?list=" + list}}}}
			out := tree.Execute(context.Background(), dmtree.Session{ServerID: "srv"}, cmd)
			if len(out) != 2 || out[0].Data != "200" {
				t.Fatalf("answers = %+v, want 200 and Results", out)
			}
			var all strings.Builder
			for _, it := range out[1].Items {
				all.WriteString(it.Source.LocURI + " ")
				if it.Data != nil {
					all.WriteString(it.Data.Value + " ")
				}
			}
			got := all.String()
			for _, secret := range []string{"AAuthSecret", "AAuthData", "secret-pw", "nonce-", "bm9uY2"} {
				if strings.Contains(got, secret) {
					t.Errorf("list contains %q:\n%s", secret, got)
				}
			}
			if !strings.Contains(got, "AAuthName") {
				t.Errorf("list lacks AAuthName, so the account was not listed:\n%s", got)
			}
		})
	}
}
