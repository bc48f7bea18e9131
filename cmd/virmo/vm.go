package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/virmo/virmo/api"
)

func newVMCommand() *cobra.Command {
	opts := &operatorOptions{}
	cmd := &cobra.Command{Use: "vm", Short: "List, lock, unlock, start and stop VMs on devices"}
	addOperatorFlags(cmd, opts)

	var device string
	list := &cobra.Command{
		Use:   "list",
		Short: "List VMs with their run state and lock state",
		Args:  cobra.NoArgs,
		RunE: opts.runE(func(cmd *cobra.Command, _ []string) error {
			client, err := opts.client()
			if err != nil {
				return err
			}
			vms, err := client.ListVMs(cmd.Context(), device)
			if err != nil {
				return err
			}
			return opts.print(cmd.OutOrStdout(), vms, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "DEVICE\tVM\tSTATE\tLOCK\tUSER UNLOCK\tERROR")
				for _, vm := range vms {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%t\t%s\n",
						vm.Device, vm.VM, vm.State, vm.LockState, vm.UserUnlock, vm.LockError)
				}
			})
		}),
	}
	list.Flags().StringVar(&device, "device", "", "only the VMs of this device")
	cmd.AddCommand(list, newVMLockCommand(opts), newVMRevealCommand(opts))
	for _, op := range []string{"unlock", "start", "stop", "pause", "resume"} {
		cmd.AddCommand(newVMOperationCommand(opts, op))
	}
	return cmd
}

func newVMLockCommand(opts *operatorOptions) *cobra.Command {
	var req api.LockRequest
	var secretStdin bool
	wait := &waitOptions{}
	cmd := &cobra.Command{
		Use:   "lock DEVICE/VM",
		Short: "Lock a VM, optionally letting its user unlock it with a secret",
		Long: `Lock a VM. With --user-unlock the server generates a secret (or takes
--secret or --secret-stdin), provisions its digest to the device and prints
the secret once: give it to the user or supervisor, who runs
"virmo unlock VM" on the device. A secret with spaces is printed in double
quotes, which are not part of it. The VM shows "locked" only after the
device confirmed the lock.

A repeated lock request while the first is pending gets the same intent
and no new secret; "virmo vm reveal-secret" shows the secret again.`,
		Args: cobra.ExactArgs(1),
		RunE: opts.runE(func(cmd *cobra.Command, args []string) error {
			device, vm, err := splitVMRef(args[0])
			if err != nil {
				return err
			}
			if err := lockSecret(cmd, &req, secretStdin); err != nil {
				return err
			}
			client, err := opts.client()
			if err != nil {
				return err
			}
			resp, err := client.Lock(cmd.Context(), device, vm, req)
			if err != nil {
				return err
			}
			err = opts.print(cmd.OutOrStdout(), resp, func(w *tabwriter.Writer) {
				printLockResponse(w, args[0], req, resp)
			})
			if err != nil {
				return err
			}
			return wait.run(cmd, opts, client, resp.Intent)
		}),
	}
	cmd.Flags().BoolVar(&req.UserUnlock, "user-unlock", false, "let the user unlock the VM locally with a secret")
	cmd.Flags().StringVar(&req.Secret, "secret", "",
		"use this secret instead of a generated one: 4 to 128 bytes of UTF-8, with --user-unlock "+
			"(visible to other local users in the process list; prefer --secret-stdin)")
	cmd.Flags().BoolVar(&secretStdin, "secret-stdin", false,
		"read the secret from standard input instead of --secret (one trailing newline, \\n or \\r\\n, is removed)")
	wait.addFlags(cmd)
	return cmd
}

// lockSecret checks the secret flags of vm lock and, with --secret-stdin,
// reads the secret into req.
func lockSecret(cmd *cobra.Command, req *api.LockRequest, secretStdin bool) error {
	secretGiven := cmd.Flags().Changed("secret")
	if secretGiven && secretStdin {
		return errors.New("use either --secret or --secret-stdin, not both")
	}
	if secretStdin {
		secret, err := readPipedSecret(cmd.InOrStdin())
		if err != nil {
			return err
		}
		req.Secret = string(secret)
		clear(secret)
	}
	if (secretGiven || secretStdin) && !req.UserUnlock {
		return errors.New("a secret is only used with --user-unlock: add --user-unlock, or leave out the secret")
	}
	if secretGiven && req.Secret == "" {
		return errors.New("--secret is empty: give 4 to 128 bytes, or leave out --secret to have the server generate one")
	}
	return nil
}

// errNoPipedSecret is the error of readPipedSecret for empty input.
var errNoPipedSecret = errors.New("no secret on standard input")

// readPipedSecret reads a secret from r and removes one trailing "\n" or
// "\r\n".
func readPipedSecret(r io.Reader) ([]byte, error) {
	secret, err := io.ReadAll(io.LimitReader(r, maxSecretBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read secret from standard input: %w", err)
	}
	if len(secret) > maxSecretBytes {
		return nil, fmt.Errorf("secret on standard input is longer than %d bytes", maxSecretBytes)
	}
	secret = bytes.TrimSuffix(secret, []byte("\n"))
	secret = bytes.TrimSuffix(secret, []byte("\r"))
	if len(secret) == 0 {
		return nil, errNoPipedSecret
	}
	return secret, nil
}

func printLockResponse(w io.Writer, ref string, req api.LockRequest, resp api.LockResponse) {
	fmt.Fprintf(w, "lock requested for %s (intent %s, %s)\n", ref, resp.Intent.ID, resp.Intent.State)
	switch {
	case resp.Secret != "":
		fmt.Fprintf(w, "unlock secret: %s  (shown once; give it to the user)\n", quoteSecret(resp.Secret))
	case req.UserUnlock && resp.Intent.State == "pending":
		// The server creates a secret only for a new lock, so a pending
		// intent without one repeats an earlier request.
		fmt.Fprintf(w, "this lock was already pending, so the server made no new secret: the first request\n"+
			"printed it, and virmo vm reveal-secret %s --reason TEXT shows it again\n", ref)
	}
}

// quoteSecret returns s as printed to the operator: in Go double quotes
// when spaces or unprintable characters would hide where it starts or
// ends, and as it is otherwise.
func quoteSecret(s string) string {
	needsQuotes := strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '"' || r == '\\'
	})
	if needsQuotes {
		return strconv.Quote(s)
	}
	return s
}

func newVMOperationCommand(opts *operatorOptions, op string) *cobra.Command {
	wait := &waitOptions{}
	cmd := &cobra.Command{
		Use:   op + " DEVICE/VM",
		Short: strings.ToUpper(op[:1]) + op[1:] + " a VM",
		Args:  cobra.ExactArgs(1),
		RunE: opts.runE(func(cmd *cobra.Command, args []string) error {
			device, vm, err := splitVMRef(args[0])
			if err != nil {
				return err
			}
			client, err := opts.client()
			if err != nil {
				return err
			}
			var resp api.IntentResponse
			if op == "unlock" {
				resp, err = client.Unlock(cmd.Context(), device, vm)
			} else {
				resp, err = client.Operation(cmd.Context(), device, vm, op)
			}
			if err != nil {
				return err
			}
			err = opts.print(cmd.OutOrStdout(), resp, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "%s requested for %s/%s (intent %s, %s)\n", op, device, vm, resp.Intent.ID, resp.Intent.State)
			})
			if err != nil {
				return err
			}
			return wait.run(cmd, opts, client, resp.Intent)
		}),
	}
	switch op {
	case "unlock":
		cmd.Long = "Unlock a VM from the server. This works also after the user ran out of unlock attempts."
	case "start", "resume":
		cmd.Long = strings.ToUpper(op[:1]) + op[1:] + ` a VM. The server rejects the request while the VM
is locked or a lock is pending: unlock it first with "virmo vm unlock".`
	}
	wait.addFlags(cmd)
	return cmd
}

func newVMRevealCommand(opts *operatorOptions) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "reveal-secret DEVICE/VM",
		Short: "Show the unlock secret of a locked VM again (admin, audited)",
		Args:  cobra.ExactArgs(1),
		RunE: opts.runE(func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return errors.New("reveal-secret needs --reason; it is written to the audit log")
			}
			device, vm, err := splitVMRef(args[0])
			if err != nil {
				return err
			}
			client, err := opts.client()
			if err != nil {
				return err
			}
			resp, err := client.RevealSecret(cmd.Context(), device, vm, api.RevealRequest{Reason: reason})
			if err != nil {
				return err
			}
			return opts.print(cmd.OutOrStdout(), resp, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "unlock secret: %s\n", quoteSecret(resp.Secret))
			})
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the secret is needed again (stored in the audit log)")
	return cmd
}
