package notify

import (
	"context"
	"testing"
)

func TestHubWakesOnlyThatDevice(t *testing.T) {
	h := NewHub()
	a, cancelA := h.Subscribe("a")
	b, cancelB := h.Subscribe("b")
	defer cancelB()

	h.Wake(context.Background(), "a")
	h.Wake(context.Background(), "a") // merged with the first
	select {
	case <-a:
	default:
		t.Fatal("subscriber of a got no wake-up")
	}
	select {
	case <-a:
		t.Error("two wake-ups were not merged")
	default:
	}
	select {
	case <-b:
		t.Error("subscriber of b was woken by a wake-up of a")
	default:
	}

	cancelA()
	cancelA() // a second cancel is harmless
	if n := h.Subscribers("a"); n != 0 {
		t.Errorf("Subscribers(a) after cancel = %d, want 0", n)
	}
}
