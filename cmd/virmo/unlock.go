package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

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
"\n" or "\r\n" is removed, nothing else). On a terminal, Ctrl-C ends the
prompt at once, and Ctrl-D or Enter on an empty line ends it without
contacting the agent. The agent checks it and counts failed
attempts; after too many, only the server can unlock the VM.

Exit status: 0 unlocked, 2 wrong secret, 3 user unlock not possible now
(the VM is unknown or not locked, user unlock is off, or the attempts are used
up), 130 or 143 interrupted at the prompt (SIGINT or SIGTERM), 1 any other
error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vm := args[0]
			if vm == "" {
				return errors.New("VM name is empty: give the name of the locked VM, for example vm1")
			}
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
		return readTerminalSecret(fd, vm)
	}
	secret, err := readPipedSecret(os.Stdin)
	if errors.Is(err, errNoPipedSecret) {
		return nil, fmt.Errorf("%w: pipe it in or run on a terminal", err)
	}
	return secret, err
}

// readTerminalSecret prompts for the secret and reads it without echo.
// SIGINT or SIGTERM at the prompt restores the terminal and ends the
// command at once with exit status 128 plus the signal number, since the
// read itself cannot be interrupted.
func readTerminalSecret(fd int, vm string) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, fmt.Errorf("read the terminal state: %w", err)
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)

	type readResult struct {
		secret []byte
		err    error
	}
	done := make(chan readResult, 1)
	fmt.Fprintf(os.Stderr, "Secret for %s: ", vm)
	go func() {
		secret, err := readPassword(fd)
		done <- readResult{secret, err}
	}()

	select {
	case sig := <-signals:
		_ = term.Restore(fd, state)
		fmt.Fprintln(os.Stderr)
		code := 128 + int(syscall.SIGINT)
		if sig == syscall.SIGTERM {
			code = 128 + int(syscall.SIGTERM)
		}
		return nil, &exitError{code: code, msg: "interrupted; nothing was sent to the agent"}
	case result := <-done:
		fmt.Fprintln(os.Stderr)
		if errors.Is(result.err, io.EOF) || (result.err == nil && len(result.secret) == 0) {
			return nil, errors.New("no secret typed; nothing was sent to the agent")
		}
		if result.err != nil {
			return nil, fmt.Errorf("read secret from the terminal: %w", result.err)
		}
		return result.secret, nil
	}
}

func unlockExitError(vm string, err error) error {
	var refused *agent.UnlockError
	if !errors.As(err, &refused) {
		return err
	}
	switch refused.Code {
	case "wrong_secret":
		attempts := "attempts"
		if refused.AttemptsLeft == 1 {
			attempts = "attempt"
		}
		return &exitError{code: 2, msg: fmt.Sprintf("wrong secret for %s; %d %s left", vm, refused.AttemptsLeft, attempts)}
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
