package dmacc

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/syncml"
)

var testAccount = Account{
	ServerID:       "virmo-server",
	Name:           "VirMO",
	ServerURL:      "http://127.0.0.1:8080/dm",
	ClientUser:     "dev1",
	ClientPassword: "client-pass",
	ServerUser:     "virmo-server",
	ServerPassword: "server-pass",
	ClientNonce:    []byte{1, 2, 3, 4},
	ServerNonce:    []byte{5, 6, 7, 8},
}

func provisioned(t *testing.T) *dmtree.Tree {
	t.Helper()
	tree := dmtree.New(dmtree.Options{})
	if err := tree.Mount(New()); err != nil {
		t.Fatalf("Mount: %v", err)
	}
	if err := tree.Update(func(tx *dmtree.Tx) error { return Provision(tx, testAccount) }); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	return tree
}

func read(t *testing.T, tree *dmtree.Tree) Account {
	t.Helper()
	var acc Account
	if err := tree.View(func(tx *dmtree.Tx) error {
		var err error
		acc, err = Read(tx)
		return err
	}); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return acc
}

func equalAccounts(a, b Account) bool {
	return a.ServerID == b.ServerID && a.Name == b.Name && a.ServerURL == b.ServerURL &&
		a.ClientUser == b.ClientUser && a.ClientPassword == b.ClientPassword &&
		a.ServerUser == b.ServerUser && a.ServerPassword == b.ServerPassword &&
		bytes.Equal(a.ClientNonce, b.ClientNonce) && bytes.Equal(a.ServerNonce, b.ServerNonce)
}

func TestProvisionAndRead(t *testing.T) {
	tree := provisioned(t)

	if got := read(t, tree); !equalAccounts(got, testAccount) {
		t.Errorf("Read = %+v, want %+v", got, testAccount)
	}
}

func TestProvisionOverwrites(t *testing.T) {
	tree := provisioned(t)
	changed := testAccount
	changed.ClientPassword = "new-pass"

	if err := tree.Update(func(tx *dmtree.Tx) error { return Provision(tx, changed) }); err != nil {
		t.Fatalf("Provision: %v", err)
	}

	if got := read(t, tree); got.ClientPassword != "new-pass" {
		t.Errorf("ClientPassword = %q, want new-pass", got.ClientPassword)
	}
	tree.View(func(tx *dmtree.Tx) error {
		if n, _ := tx.Node(Root); len(n.Children) != 1 {
			t.Errorf("accounts = %v, want one", n.Children)
		}
		return nil
	})
}

func TestSetNonces(t *testing.T) {
	tree := provisioned(t)

	err := tree.Update(func(tx *dmtree.Tx) error {
		return errors.Join(SetClientNonce(tx, []byte("cn")), SetServerNonce(tx, []byte("sn")))
	})

	if err != nil {
		t.Fatalf("set nonces: %v", err)
	}
	got := read(t, tree)
	if string(got.ClientNonce) != "cn" || string(got.ServerNonce) != "sn" {
		t.Errorf("nonces = %q %q, want cn sn", got.ClientNonce, got.ServerNonce)
	}
}

func TestReadWithoutAccount(t *testing.T) {
	tree := dmtree.New(dmtree.Options{})
	if err := tree.Mount(New()); err != nil {
		t.Fatal(err)
	}

	err := tree.View(func(tx *dmtree.Tx) error { _, err := Read(tx); return err })

	if !errors.Is(err, ErrNoAccount) {
		t.Errorf("Read error = %v, want ErrNoAccount", err)
	}
}

func TestServerAccess(t *testing.T) {
	base := "./DMAcc/virmo-server/"
	tests := []struct {
		name   string
		server string
		cmd    string
		uri    string
		data   string
		want   int
	}{
		{"own ServerID Get", "virmo-server", syncml.CmdGet, base + "ServerID", "", 200},
		{"own Addr Replace", "virmo-server", syncml.CmdReplace, base + "AppAddr/Srv/Addr", "http://127.0.0.1:9/dm", 200},
		{"secret Get", "virmo-server", syncml.CmdGet, base + "AppAuth/CLCRED/AAuthSecret", "", 405},
		{"nonce Get", "virmo-server", syncml.CmdGet, base + "AppAuth/SRVCRED/AAuthData", "", 405},
		{"other server Get", "other", syncml.CmdGet, base + "ServerID", "", 425},
		{"other server Delete", "other", syncml.CmdDelete, "./DMAcc/virmo-server", "", 425},
		{"ServerID Replace", "virmo-server", syncml.CmdReplace, base + "ServerID", "x", 405},
		{"AAuthType unsupported", "virmo-server", syncml.CmdReplace, base + "AppAuth/CLCRED/AAuthType", "X509", 406},
		{"own account Delete", "virmo-server", syncml.CmdDelete, "./DMAcc/virmo-server", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := provisioned(t)
			it := syncml.Item{Target: &syncml.Locator{LocURI: tt.uri}}
			if tt.cmd == syncml.CmdReplace {
				it.Data = syncml.NewData(tt.data)
			}
			cmd := syncml.Command{Name: tt.cmd, CmdID: "1", Items: []syncml.Item{it}}

			out := tree.Execute(context.Background(),
				dmtree.Session{ServerID: tt.server, MsgRef: "1"}, cmd)

			if got, _ := strconv.Atoi(out[0].Data); got != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.cmd, tt.uri, got, tt.want)
			}
		})
	}
}

func TestAccountName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"virmo-server", "virmo-server"},
		{"https://a/b", "https___a_b"},
		{"", "Account"},
		{"..", "Account"},
	}
	for _, tt := range tests {
		if got := accountName(tt.in); got != tt.want {
			t.Errorf("accountName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
