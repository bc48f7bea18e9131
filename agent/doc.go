// Package agent is the VirMO Client: the OMA DM client that runs in the
// management domain of a device. It keeps the management tree (DevInfo,
// DevDetail, DMAcc, VirMO with a LAWMO per VM) and the queue of Generic
// Alerts in one SQLite file. It opens DM sessions with the server it was
// enrolled with, reconciles the tree with the hypervisor, and serves the
// local unlock socket (package agent/unlock).
//
// Enroll stores a DM account once; New opens the state; Run serves until
// its context is done. Unlock and UnlockStatus are the client side of the
// unlock socket, for the "virmo unlock" command.
//
// Logs name sessions, servers, VMs and commands, and never contain a
// password, nonce, credential digest, unlock secret, AuthData or
// AuthDigest.
package agent
