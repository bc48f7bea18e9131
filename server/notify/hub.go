package notify

import (
	"context"
	"sync"
)

// Waker carries wake-ups to the long-polls of a device. The in-process Hub
// reaches long-polls on this replica only. A Waker for several replicas
// (PostgreSQL LISTEN/NOTIFY, for example) publishes the device id in Wake
// and delivers it to the subscribers on every replica. The wake-up carries
// no message: the replica that holds the long-poll builds the Package #0
// from the store.
type Waker interface {
	// Wake signals every subscriber of deviceID. It must not block on a
	// slow subscriber.
	Wake(ctx context.Context, deviceID string) error
	// Subscribe returns a channel that receives a value after each Wake of
	// deviceID, merging wake-ups the subscriber has not read yet, and a
	// function that ends the subscription.
	Subscribe(deviceID string) (<-chan struct{}, func())
}

// Hub is the in-process Waker. The zero value is ready to use.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{} }

// Wake signals every subscriber of deviceID. It never blocks and never
// fails.
func (h *Hub) Wake(_ context.Context, deviceID string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[deviceID] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return nil
}

// Subscribe registers a subscriber of deviceID.
func (h *Hub) Subscribe(deviceID string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[string]map[chan struct{}]struct{}{}
	}
	if h.subs[deviceID] == nil {
		h.subs[deviceID] = map[chan struct{}]struct{}{}
	}
	h.subs[deviceID][ch] = struct{}{}
	h.mu.Unlock()

	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(h.subs[deviceID], ch)
			if len(h.subs[deviceID]) == 0 {
				delete(h.subs, deviceID)
			}
		})
	}
}

// Subscribers returns the number of open subscriptions of deviceID.
func (h *Hub) Subscribers(deviceID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[deviceID])
}
