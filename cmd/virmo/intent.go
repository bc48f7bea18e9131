package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/apiclient"
)

// intentPollInterval is the time between two GET /intents/{id} of --wait.
// Tests shorten it.
var intentPollInterval = 500 * time.Millisecond

func newIntentCommand() *cobra.Command {
	opts := &operatorOptions{}
	cmd := &cobra.Command{Use: "intent", Short: "Show operator requests on VMs and their outcome"}
	addOperatorFlags(cmd, opts)
	cmd.AddCommand(&cobra.Command{
		Use:   "show ID",
		Short: "Show one intent: its VM, kind, state and error",
		Long: `Show one intent, the request that lock, unlock, start, stop, pause and
resume print as "intent int-...". Its state is pending, done, failed,
superseded or cancelled; a failed intent carries the device's error.`,
		Args: cobra.ExactArgs(1),
		RunE: opts.runE(func(cmd *cobra.Command, args []string) error {
			client, err := opts.client()
			if err != nil {
				return err
			}
			intent, err := client.GetIntent(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return opts.print(cmd.OutOrStdout(), intent, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "INTENT\tVM\tKIND\tSTATE\tCREATED\tUPDATED\tERROR")
				fmt.Fprintf(w, "%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\n", intent.ID, intent.Device, intent.VM,
					intent.Kind, intent.State, formatTime(intent.CreatedAt), formatTime(intent.UpdatedAt), intent.Error)
			})
		}),
	})
	return cmd
}

// waitOptions are the --wait flags of the commands that create an intent.
type waitOptions struct {
	wait    bool
	timeout time.Duration
}

func (o *waitOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.wait, "wait", false,
		"wait until the device has carried out the request, print the outcome, and exit 1 if it failed")
	cmd.Flags().DurationVar(&o.timeout, "wait-timeout", 2*time.Minute,
		"longest time --wait waits, for example 30s or 5m")
}

// run polls the intent until it leaves the pending state and reports its
// outcome. Without --wait it does nothing.
func (o *waitOptions) run(cmd *cobra.Command, opts *operatorOptions, client *apiclient.Client, intent api.Intent) error {
	if !o.wait {
		return nil
	}
	if o.timeout <= 0 {
		return fmt.Errorf("invalid --wait-timeout %s: use a positive duration, for example 2m", o.timeout)
	}
	ctx := cmd.Context()
	deadline := time.Now().Add(o.timeout)
	ticker := time.NewTicker(intentPollInterval)
	defer ticker.Stop()
	for intent.State == "pending" {
		if time.Now().After(deadline) {
			return fmt.Errorf("intent %s is still pending after %s (is the device's agent running?); "+
				"check it later with: virmo intent show %s", intent.ID, o.timeout, intent.ID)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
		var err error
		intent, err = client.GetIntent(ctx, intent.ID)
		if err != nil {
			return err
		}
	}

	err := opts.print(cmd.OutOrStdout(), intent, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "%s of %s/%s %s\n", intent.Kind, intent.Device, intent.VM, intent.State)
	})
	if err != nil {
		return err
	}
	if intent.State == "done" {
		return nil
	}
	msg := fmt.Sprintf("%s of %s/%s %s (intent %s)", intent.Kind, intent.Device, intent.VM, intent.State, intent.ID)
	if intent.Error != "" {
		msg += ": " + intent.Error
	}
	return &exitError{code: 1, msg: msg}
}
