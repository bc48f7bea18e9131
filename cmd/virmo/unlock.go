package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/virmo/virmo/agent"
)

// maxSecretBytes bounds the secret read from standard input.
const maxSecretBytes = 4096

func newUnlockCommand() *cobra.Command {
	var socket string
	cmd := &cobra.Command{
		Use:   "unlock VM",
		Short: "Unlock a locked VM on this device with the secret you were given",
		Long: `Unlock a locked VM locally. The secret is read without echo from the
terminal, or from standard input when it is not a terminal (one trailing
newline is removed, nothing else). The agent checks it and counts failed
attempts; after too many, only the server can unlock the VM.

Exit status: 0 unlocked, 2 wrong secret, 3 user unlock not allowed now,
1 any other error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vm := args[0]
			secret, err := readSecret(vm)
			if err != nil {
				return err
			}
			err = agent.Unlock(cmd.Context(), socket, vm, secret)
			clear(secret)
			if err != nil {
				return unlockExitError(vm, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s unlocked\n", vm)
			return nil
		},
	}
	cmd.Flags().StringVar(&socket, "socket", envOr("VIRMO_UNLOCK_SOCKET", "virmo-agent/unlock.sock"),
		"path of the agent's unlock socket (env VIRMO_UNLOCK_SOCKET)")
	return cmd
}

// readSecret returns the exact bytes of the secret: typed without echo on a
// terminal, or read from a pipe with one trailing newline removed.
func readSecret(vm string) ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if term.IsTerminal(fd) {
		fmt.Fprintf(os.Stderr, "Secret for %s: ", vm)
		secret, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return nil, fmt.Errorf("read secret from the terminal: %w", err)
		}
		return secret, nil
	}
	secret, err := io.ReadAll(io.LimitReader(os.Stdin, maxSecretBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read secret from standard input: %w", err)
	}
	if len(secret) > maxSecretBytes {
		return nil, fmt.Errorf("secret on standard input is longer than %d bytes", maxSecretBytes)
	}
	secret = bytes.TrimSuffix(secret, []byte("\n"))
	secret = bytes.TrimSuffix(secret, []byte("\r"))
	if len(secret) == 0 {
		return nil, errors.New("no secret on standard input: pipe it in or run on a terminal")
	}
	return secret, nil
}

func unlockExitError(vm string, err error) error {
	var refused *agent.UnlockError
	if !errors.As(err, &refused) {
		return err
	}
	switch refused.Code {
	case "wrong_secret":
		return &exitError{code: 2, msg: fmt.Sprintf("wrong secret for %s; %d attempts left", vm, refused.AttemptsLeft)}
	case "attempts_exhausted":
		return &exitError{code: 3, msg: fmt.Sprintf("%s: too many wrong secrets; ask the operator to unlock it or send a new secret", vm)}
	case "not_allowed", "not_locked", "no_such_vm":
		return &exitError{code: 3, msg: fmt.Sprintf("%s: %s", vm, refused.Message)}
	}
	return &exitError{code: 1, msg: fmt.Sprintf("%s: %s", vm, refused.Message)}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
