// Package dmacc is the DMAcc management object of OMA DM 1.2 (./DMAcc/<X>,
// urn:oma:mo:oma-dm-dmacc:1.0): one account per DM server, holding the
// server's address and the client and server credentials with their
// nonces. Secrets and nonces have no Get access type, so no server can read
// them; only the agent reads them, through Read.
package dmacc

import (
	"context"
	"errors"
	"strings"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/syncml"
)

// Root is the root segment of the MO, and Type the MO identifier carried by
// each account node.
const (
	Root = "DMAcc"
	Type = "urn:oma:mo:oma-dm-dmacc:1.0"
)

// Fixed values of an account this agent provisions.
const (
	// AppID is the application id of OMA DM accounts.
	AppID = "w7"
	// AddrTypeURI marks AppAddr/<X>/Addr as a URL.
	AddrTypeURI = "URI"
	// AuthDigest is the AAuthType and AAuthPref value of syncml:auth-md5.
	AuthDigest = "DIGEST"
	// LevelClient marks the credentials the client sends (CLCRED);
	// LevelServer the credentials the server sends (SRVCRED).
	LevelClient = "CLCRED"
	LevelServer = "SRVCRED"
)

// Node names this package gives to the runtime-named nodes it creates.
const (
	addrNode = "Srv"
)

// ErrNoAccount is returned by Read and the nonce setters when ./DMAcc
// contains no account.
var ErrNoAccount = errors.New("dmacc: no DM account is provisioned")

// Account is one DM server account.
type Account struct {
	// ServerID is the server identifier; the account's ACL grants Get,
	// Replace and Delete to it.
	ServerID string
	// Name is a display name of the server.
	Name string
	// ServerURL is the URL the client sends its messages to.
	ServerURL string
	// ClientUser and ClientPassword are the client's credentials
	// (CLCRED); ServerUser and ServerPassword the server's (SRVCRED).
	ClientUser     string
	ClientPassword string
	ServerUser     string
	ServerPassword string
	// ClientNonce is the nonce the client uses in its credentials, as
	// the server last sent it; ServerNonce the nonce the server must use,
	// as the client last sent it.
	ClientNonce []byte
	ServerNonce []byte
}

type plugin struct{}

// New returns the DMAcc plugin. It starts with no account; enrollment adds
// one with Provision.
func New() dmtree.Plugin { return plugin{} }

// Definition returns the DDF definition of ./DMAcc.
func (plugin) Definition() *dmtree.NodeDef { return definition }

// BeforeChange checks a server's Replace of AAuthType and AddrType, which
// this client supports only with DIGEST and URI (406 otherwise).
func (plugin) BeforeChange(tx *dmtree.Tx, ch dmtree.Change) error {
	if ch.Op != dmtree.OpReplace || ch.New == nil {
		return nil
	}

	segs := ch.URI.Segments()
	name := segs[len(segs)-1]
	value := string(ch.New.Value)
	switch {
	case name == "AAuthType" && !supportedAuthType(value):
		return dmtree.Errorf(syncml.StatusOptionalFeature,
			"AAuthType %q is not supported: use BASIC, DIGEST or HMAC", value)
	case name == "AAuthPref" && !supportedAuthType(value):
		return dmtree.Errorf(syncml.StatusOptionalFeature,
			"AAuthPref %q is not supported: use BASIC, DIGEST or HMAC", value)
	case name == "AddrType" && value != AddrTypeURI:
		return dmtree.Errorf(syncml.StatusOptionalFeature,
			"AddrType %q is not supported: use URI", value)
	}
	return nil
}

func supportedAuthType(v string) bool {
	return v == "BASIC" || v == AuthDigest || v == "HMAC"
}

// Exec returns 405: DMAcc has no executable nodes.
func (plugin) Exec(ctx context.Context, tx *dmtree.Tx, req dmtree.ExecRequest) int {
	return syncml.StatusCommandNotAllowed
}

// accountName returns a node name for a new account of serverID: the
// ServerID with every character other than letters, digits, '.', '-' and
// '_' replaced by '_'.
func accountName(serverID string) string {
	var b strings.Builder
	for _, r := range serverID {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name == "" || name == "." || name == ".." {
		name = "Account"
	}
	return name
}

// ACL returns the ACL of an account of serverID: Get, Replace and Delete
// for that server only.
func ACL(serverID string) string {
	return "Delete=" + serverID + "&Get=" + serverID + "&Replace=" + serverID
}
