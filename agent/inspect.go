package agent

import (
	"context"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/syncml"
)

// Session runs one client-initiated DM session now and returns when it
// ends. It must not run while Run runs, since both would use the same
// session counter and tree.
func (a *Agent) Session(ctx context.Context) error {
	return a.runSession(ctx, syncml.AlertClientInitiated)
}

// Value returns the value of the leaf at uri in the management tree, or
// the tree's error (status 404 for a missing node).
func (a *Agent) Value(uri string) ([]byte, error) {
	var value []byte
	err := a.tree.View(func(tx *dmtree.Tx) error {
		var err error
		value, err = tx.Value(uri)
		return err
	})
	return value, err
}

// Reconcile brings the tree in line with the hypervisor once, as Run does
// every SyncInterval. It must not run while Run runs.
func (a *Agent) Reconcile(ctx context.Context) error {
	return a.mo.Sync(ctx)
}
