package dmacc

import (
	"fmt"

	"github.com/virmo/virmo/dmtree"
)

// Provision creates the account of acc.ServerID, or overwrites it when it
// exists, with the DM 1.2 layout: AppID w7, AppAddr/Srv/Addr, AAuthPref
// DIGEST, and AppAuth/CLCRED and AppAuth/SRVCRED with AAuthType DIGEST.
// The account's ACL grants Get, Replace and Delete to acc.ServerID only.
// It runs in a local transaction (Tree.Update), which skips ACL checks.
func Provision(tx *dmtree.Tx, acc Account) error {
	if acc.ServerID == "" {
		return fmt.Errorf("provision DM account: ServerID is empty")
	}

	name, exists, err := accountFor(tx, acc.ServerID)
	if err != nil {
		return err
	}
	base := Root + "/" + name
	if exists {
		if err := tx.Delete(base); err != nil {
			return fmt.Errorf("provision DM account %s: %w", name, err)
		}
	}

	leaves := []struct {
		path   string
		format dmtree.Format
		value  []byte
	}{
		{"AppID", dmtree.FormatChr, []byte(AppID)},
		{"ServerID", dmtree.FormatChr, []byte(acc.ServerID)},
		{"Name", dmtree.FormatChr, []byte(acc.Name)},
		{"AppAddr/" + addrNode + "/Addr", dmtree.FormatChr, []byte(acc.ServerURL)},
		{"AppAddr/" + addrNode + "/AddrType", dmtree.FormatChr, []byte(AddrTypeURI)},
		{"AAuthPref", dmtree.FormatChr, []byte(AuthDigest)},
	}
	creds := []struct {
		level, user, password string
		nonce                 []byte
	}{
		{LevelClient, acc.ClientUser, acc.ClientPassword, acc.ClientNonce},
		{LevelServer, acc.ServerUser, acc.ServerPassword, acc.ServerNonce},
	}
	for _, c := range creds {
		p := "AppAuth/" + c.level + "/"
		leaves = append(leaves, []struct {
			path   string
			format dmtree.Format
			value  []byte
		}{
			{p + "AAuthLevel", dmtree.FormatChr, []byte(c.level)},
			{p + "AAuthType", dmtree.FormatChr, []byte(AuthDigest)},
			{p + "AAuthName", dmtree.FormatChr, []byte(c.user)},
			{p + "AAuthSecret", dmtree.FormatChr, []byte(c.password)},
			{p + "AAuthData", dmtree.FormatBin, c.nonce},
		}...)
	}

	if err := tx.AddNode(base, dmtree.FormatNode, nil); err != nil {
		return fmt.Errorf("provision DM account %s: %w", name, err)
	}
	for _, l := range leaves {
		if err := tx.AddNode(base+"/"+l.path, l.format, l.value); err != nil {
			return fmt.Errorf("provision DM account %s: add %s: %w", name, l.path, err)
		}
	}
	if err := tx.SetACL(base, ACL(acc.ServerID)); err != nil {
		return fmt.Errorf("provision DM account %s: set ACL: %w", name, err)
	}
	return nil
}

// accountFor returns the node name of the account of serverID and whether
// it exists; for a new account it picks a free name.
func accountFor(tx *dmtree.Tx, serverID string) (string, bool, error) {
	names, err := accounts(tx)
	if err != nil {
		return "", false, err
	}

	taken := make(map[string]bool, len(names))
	for _, name := range names {
		id, err := tx.Value(Root + "/" + name + "/ServerID")
		if err == nil && string(id) == serverID {
			return name, true, nil
		}
		taken[name] = true
	}

	base := accountName(serverID)
	name := base
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name, false, nil
}

// accounts returns the node names below ./DMAcc, sorted.
func accounts(tx *dmtree.Tx) ([]string, error) {
	root, err := tx.Node(Root)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Root, err)
	}
	return root.Children, nil
}

// first returns the path of the first account (by node name).
func first(tx *dmtree.Tx) (string, error) {
	names, err := accounts(tx)
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", ErrNoAccount
	}
	return Root + "/" + names[0], nil
}

// Read returns the first account (by node name), or ErrNoAccount. Leaves
// a server deleted read as empty.
func Read(tx *dmtree.Tx) (Account, error) {
	base, err := first(tx)
	if err != nil {
		return Account{}, err
	}

	value := func(path string) []byte {
		v, err := tx.Value(base + "/" + path)
		if err != nil {
			return nil
		}
		return v
	}
	acc := Account{
		ServerID:  string(value("ServerID")),
		Name:      string(value("Name")),
		ServerURL: string(value("AppAddr/" + addrNode + "/Addr")),
	}
	if acc.ServerURL == "" {
		acc.ServerURL = firstAddr(tx, base)
	}

	if p, ok := credPath(tx, base, LevelClient); ok {
		acc.ClientUser = string(value(p + "AAuthName"))
		acc.ClientPassword = string(value(p + "AAuthSecret"))
		acc.ClientNonce = value(p + "AAuthData")
	}
	if p, ok := credPath(tx, base, LevelServer); ok {
		acc.ServerUser = string(value(p + "AAuthName"))
		acc.ServerPassword = string(value(p + "AAuthSecret"))
		acc.ServerNonce = value(p + "AAuthData")
	}
	return acc, nil
}

// firstAddr returns the Addr of the first AppAddr entry, for accounts whose
// address node has another name.
func firstAddr(tx *dmtree.Tx, base string) string {
	n, err := tx.Node(base + "/AppAddr")
	if err != nil {
		return ""
	}
	for _, c := range n.Children {
		if v, err := tx.Value(base + "/AppAddr/" + c + "/Addr"); err == nil {
			return string(v)
		}
	}
	return ""
}

// credPath returns the path below the account, ending in "/", of the
// AppAuth entry whose AAuthLevel is level.
func credPath(tx *dmtree.Tx, base, level string) (string, bool) {
	n, err := tx.Node(base + "/AppAuth")
	if err != nil {
		return "", false
	}
	for _, c := range n.Children {
		v, err := tx.Value(base + "/AppAuth/" + c + "/AAuthLevel")
		if err == nil && string(v) == level {
			return "AppAuth/" + c + "/", true
		}
	}
	return "", false
}

// SetClientNonce stores the nonce the client uses in its next credentials
// (CLCRED AAuthData) in the first account.
func SetClientNonce(tx *dmtree.Tx, nonce []byte) error {
	return setNonce(tx, LevelClient, nonce)
}

// SetServerNonce stores the nonce the server must use in its next
// credentials (SRVCRED AAuthData) in the first account.
func SetServerNonce(tx *dmtree.Tx, nonce []byte) error {
	return setNonce(tx, LevelServer, nonce)
}

func setNonce(tx *dmtree.Tx, level string, nonce []byte) error {
	base, err := first(tx)
	if err != nil {
		return err
	}
	p, ok := credPath(tx, base, level)
	if !ok {
		return fmt.Errorf("set %s nonce: %s has no AppAuth entry with AAuthLevel %s",
			level, base, level)
	}

	uri := base + "/" + p + "AAuthData"
	if _, err := tx.Node(uri); err != nil {
		return tx.AddNode(uri, dmtree.FormatBin, nonce)
	}
	return tx.SetValue(uri, nonce)
}
