// Package virmo is the VirMO management object (./VirMO,
// urn:oma:mo:oma-virmo:1.0) and the per-VM LAWMO below each VM
// (./VirMO/<x>/DM/LAWMO, urn:oma:mo:oma-lawmo:1.0). It keeps one VirMO/<x>
// subtree per hypervisor VM, runs the Operations and LAWMO Execs on the
// hypervisor, enforces VM locks, and implements the local user unlock of
// the lock-parameters change request: digest = SHA-256(secret ‖ AuthData),
// compared in constant time with AuthDigest.
//
// LockParams and its children follow the change request; every other node
// is this project's definition (docs/virmo-mo.md lists which is which).
//
// The package does no I/O of its own: it drives the hypervisor through a
// hypervisor.Driver and changes the tree only inside dmtree transactions,
// so a change and the Generic Alert that reports it commit together.
package virmo
