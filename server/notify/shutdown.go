package notify

import (
	"context"
	"net/http"
)

// beginPoll registers a long-poll request so Shutdown can end and wait for
// it. It returns false once Shutdown or Close has been called.
func (n *Notifier) beginPoll() bool {
	n.pollMu.Lock()
	defer n.pollMu.Unlock()
	if n.stopping {
		return false
	}
	n.polls.Add(1)
	return true
}

// stopPolls ends every held long-poll and makes later ones fail with 503.
// It is safe to call more than once.
func (n *Notifier) stopPolls() {
	n.pollMu.Lock()
	defer n.pollMu.Unlock()
	if !n.stopping {
		n.stopping = true
		close(n.stopped)
	}
}

// Shutdown ends every held long-poll at once with 204 and its next nonce,
// rejects later long-polls with 503, and waits until their handlers have
// returned or ctx is done. Call it before http.Server.Shutdown, which
// otherwise waits for each long-poll's hold time. It does not close the
// UDP socket; Close does.
func (n *Notifier) Shutdown(ctx context.Context) error {
	n.stopPolls()
	done := make(chan struct{})
	go func() {
		n.polls.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rejectStopping rejects a long-poll that arrives after Shutdown with 503.
func rejectStopping(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	http.Error(w, "server is shutting down; retry later", http.StatusServiceUnavailable)
}
