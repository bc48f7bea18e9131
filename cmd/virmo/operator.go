package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/virmo/virmo/api"
)

// operatorOptions are the flags every operator command shares.
type operatorOptions struct {
	server string
	token  string
	output string
	caFile string
	// serverURL is the checked --server value, set by client.
	serverURL string
}

func addOperatorFlags(cmd *cobra.Command, opts *operatorOptions) {
	cmd.PersistentFlags().StringVar(&opts.server, "server", envOr("VIRMO_SERVER", "http://127.0.0.1:8080"),
		"base URL of the VirMO Server (env VIRMO_SERVER)")
	cmd.PersistentFlags().StringVar(&opts.token, "token", "",
		"admin token (env VIRMO_TOKEN; virmo dev writes it to DATA/admin.token)")
	cmd.PersistentFlags().StringVarP(&opts.output, "output", "o", "table",
		"output format: table or json")
	cmd.PersistentFlags().StringVar(&opts.caFile, "ca", envOr("VIRMO_CA", ""),
		"PEM CA file the server's HTTPS certificate is verified against (env VIRMO_CA; virmo dev --tls writes DATA/ca.pem)")
}

// print writes v as indented JSON with -o json, or calls table otherwise.
func (o *operatorOptions) print(out io.Writer, v any, table func(w *tabwriter.Writer)) error {
	if o.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	table(w)
	return w.Flush()
}

func newDeviceCommand() *cobra.Command {
	opts := &operatorOptions{}
	cmd := &cobra.Command{Use: "device", Short: "List and inspect enrolled devices"}
	addOperatorFlags(cmd, opts)
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List enrolled devices",
		Args:  cobra.NoArgs,
		RunE: opts.runE(func(cmd *cobra.Command, _ []string) error {
			client, err := opts.client()
			if err != nil {
				return err
			}
			devices, err := client.ListDevices(cmd.Context())
			if err != nil {
				return err
			}
			return opts.print(cmd.OutOrStdout(), devices, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "DEVICE\tDEVID\tNAME\tLAST SEEN")
				for _, d := range devices {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", d.ID, d.DevID, d.Name, formatTime(d.LastSeen))
				}
			})
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "commands DEVICE",
		Short: "List the command queue of a device (without payloads)",
		Args:  cobra.ExactArgs(1),
		RunE: opts.runE(func(cmd *cobra.Command, args []string) error {
			client, err := opts.client()
			if err != nil {
				return err
			}
			commands, err := client.ListCommands(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return opts.print(cmd.OutOrStdout(), commands, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "SEQ\tKIND\tSTATE\tATTEMPTS\tSTATUS\tERROR")
				for _, c := range commands {
					fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%s\n", c.Seq, c.Kind, c.State, c.Attempts, c.Status, c.Error)
				}
			})
		}),
	})
	return cmd
}

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
	cmd := &cobra.Command{
		Use:   "lock DEVICE/VM",
		Short: "Lock a VM, optionally letting its user unlock it with a secret",
		Long: `Lock a VM. With --user-unlock the server generates a secret (or takes
--secret), provisions its digest to the device and prints the secret once:
give it to the user or supervisor, who runs "virmo unlock VM" on the device.
The VM shows "locked" only after the device confirmed the lock.`,
		Args: cobra.ExactArgs(1),
		RunE: opts.runE(func(cmd *cobra.Command, args []string) error {
			device, vm, err := splitVMRef(args[0])
			if err != nil {
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
			return opts.print(cmd.OutOrStdout(), resp, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "lock requested for %s/%s (intent %s, %s)\n", device, vm, resp.Intent.ID, resp.Intent.State)
				if resp.Secret != "" {
					fmt.Fprintf(w, "unlock secret: %s  (shown once; give it to the user)\n", resp.Secret)
				}
			})
		}),
	}
	cmd.Flags().BoolVar(&req.UserUnlock, "user-unlock", false, "let the user unlock the VM locally with a secret")
	cmd.Flags().StringVar(&req.Secret, "secret", "", "use this secret instead of a generated one (with --user-unlock)")
	return cmd
}

func newVMOperationCommand(opts *operatorOptions, op string) *cobra.Command {
	return &cobra.Command{
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
			return opts.print(cmd.OutOrStdout(), resp, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "%s requested for %s/%s (intent %s, %s)\n", op, device, vm, resp.Intent.ID, resp.Intent.State)
			})
		}),
	}
}

func newVMRevealCommand(opts *operatorOptions) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "reveal-secret DEVICE/VM",
		Short: "Show the unlock secret of a locked VM again (admin, audited)",
		Args:  cobra.ExactArgs(1),
		RunE: opts.runE(func(cmd *cobra.Command, args []string) error {
			if reason == "" {
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
				fmt.Fprintf(w, "unlock secret: %s\n", resp.Secret)
			})
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the secret is needed again (stored in the audit log)")
	return cmd
}

func newEnrollTokenCommand() *cobra.Command {
	opts := &operatorOptions{}
	cmd := &cobra.Command{Use: "enroll-token", Short: "Create one-time device enrollment tokens"}
	addOperatorFlags(cmd, opts)
	var note string
	var ttl time.Duration
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a one-time enrollment token for \"virmo agent enroll\"",
		Args:  cobra.NoArgs,
		RunE: opts.runE(func(cmd *cobra.Command, _ []string) error {
			if err := checkTokenTTL(ttl); err != nil {
				return err
			}
			client, err := opts.client()
			if err != nil {
				return err
			}
			resp, err := client.CreateEnrollToken(cmd.Context(), note, ttl)
			if err != nil {
				return err
			}
			return opts.print(cmd.OutOrStdout(), resp, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "%s\n", resp.Token)
			})
		}),
	}
	create.Flags().StringVar(&note, "note", "", "free text stored with the token, for example the device's owner")
	create.Flags().DurationVar(&ttl, "ttl", 24*time.Hour,
		"how long the token stays valid, in whole seconds from 1s to 720h, for example 30m or 24h")
	cmd.AddCommand(create)
	return cmd
}

// maxTokenTTL is the longest enrollment token lifetime the server accepts.
const maxTokenTTL = 720 * time.Hour

// checkTokenTTL rejects --ttl values the server would not store as given:
// the API takes whole seconds, and 0 there means its default.
func checkTokenTTL(ttl time.Duration) error {
	if ttl < time.Second || ttl > maxTokenTTL || ttl%time.Second != 0 {
		return fmt.Errorf("invalid --ttl %s: use whole seconds from 1s to %s, for example 30m or 24h",
			ttl, maxTokenTTL)
	}
	return nil
}

// splitVMRef splits "DEVICE/VM" into its parts.
func splitVMRef(ref string) (device, vm string, err error) {
	device, vm, ok := strings.Cut(ref, "/")
	if !ok || device == "" || vm == "" || strings.Contains(vm, "/") {
		return "", "", fmt.Errorf("%q: name the VM as DEVICE/VM, for example dev-1a2b3c4d/vm1 (see virmo vm list)", ref)
	}
	return device, vm, nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
