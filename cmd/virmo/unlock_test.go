package main

import (
	"errors"
	"testing"

	"github.com/virmo/virmo/agent"
)

func TestUnlockWrongSecretMessage(t *testing.T) {
	tests := []struct {
		left int
		want string
	}{
		{1, "wrong secret for vm1; 1 attempt left"},
		{2, "wrong secret for vm1; 2 attempts left"},
	}
	for _, tt := range tests {
		err := unlockExitError("vm1", &agent.UnlockError{Code: "wrong_secret", AttemptsLeft: tt.left})
		var exit *exitError
		if !errors.As(err, &exit) {
			t.Fatalf("unlockExitError returned %v, want an exit error", err)
		}
		if exit.msg != tt.want {
			t.Errorf("message %q, want %q", exit.msg, tt.want)
		}
		if exit.code != 2 {
			t.Errorf("exit code %d, want 2", exit.code)
		}
	}
}

func TestUnlockEmptyVMName(t *testing.T) {
	_, err := runRoot(t, []byte("secret\n"), "unlock", "", "--socket", "/nonexistent/unlock.sock")
	if err == nil || err.Error() != "VM name is empty: give the name of the locked VM, for example vm1" {
		t.Errorf("unlock \"\" returned %v", err)
	}
}
