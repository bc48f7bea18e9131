package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// operatorOptions are the flags every operator command shares.
type operatorOptions struct {
	server string
	token  string
	output string
	tls    tlsClientOptions
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
	addTLSClientFlags(cmd.PersistentFlags(), &opts.tls,
		"PEM CA file the server's HTTPS certificate is verified against (env VIRMO_CA; virmo dev --tls writes DATA/ca.pem)",
		" (env VIRMO_TLS_CLIENT_CERT, and VIRMO_TLS_CLIENT_KEY for the key)")
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
				fmt.Fprintln(w, "SEQ\tINTENT\tKIND\tSTATE\tATTEMPTS\tSTATUS\tERROR")
				for _, c := range commands {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%d\t%s\n",
						c.Seq, c.Intent, c.Kind, c.State, c.Attempts, c.Status, c.Error)
				}
			})
		}),
	})
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
