package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/virmo/virmo/api"
	"github.com/virmo/virmo/apiclient"
)

// maxAuditPage is the largest page the server returns for GET /audit.
const maxAuditPage = 1000

func newAuditCommand() *cobra.Command {
	opts := &operatorOptions{}
	var after int64
	var limit int
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit log of operator actions and device lock events",
		Long: `Show the audit log, oldest first. Without --after it shows the newest
--limit entries; with --after SEQ it shows up to --limit entries whose
sequence number is above SEQ.`,
		Args: cobra.NoArgs,
		RunE: opts.runE(func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > maxAuditPage {
				return fmt.Errorf("invalid --limit %d: use a number from 1 to %d", limit, maxAuditPage)
			}
			if after < 0 {
				return fmt.Errorf("invalid --after %d: use a sequence number of 0 or more", after)
			}
			client, err := opts.client()
			if err != nil {
				return err
			}
			var entries []api.AuditEntry
			var total int
			if cmd.Flags().Changed("after") {
				entries, err = client.Audit(cmd.Context(), after, limit)
			} else {
				entries, total, err = newestAudit(cmd.Context(), client, limit)
			}
			if err != nil {
				return err
			}
			err = opts.print(cmd.OutOrStdout(), entries, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "SEQ\tTIME\tACTOR\tACTION\tTARGET\tDETAIL")
				for _, e := range entries {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, formatTime(e.Time), e.Actor, e.Action, e.Target, e.Detail)
				}
			})
			if err != nil || opts.output == "json" {
				return err
			}
			printAuditHint(cmd, entries, total, limit)
			return nil
		}),
	}
	addOperatorFlags(cmd, opts)
	cmd.Flags().Int64Var(&after, "after", 0,
		"show the entries after this sequence number, oldest first (default: the newest entries)")
	cmd.Flags().IntVar(&limit, "limit", 100, "maximum number of entries to show, from 1 to 1000")
	return cmd
}

// newestAudit pages through the whole audit log and returns its last
// limit entries, oldest first, with the number of entries in the log.
func newestAudit(ctx context.Context, client *apiclient.Client, limit int) ([]api.AuditEntry, int, error) {
	var newest []api.AuditEntry
	var after int64
	total := 0
	for {
		page, err := client.Audit(ctx, after, maxAuditPage)
		if err != nil {
			return nil, 0, err
		}
		total += len(page)
		newest = append(newest, page...)
		if len(newest) > limit {
			newest = append(newest[:0:0], newest[len(newest)-limit:]...)
		}
		if len(page) < maxAuditPage {
			return newest, total, nil
		}
		after = page[len(page)-1].Seq
	}
}

// printAuditHint prints to standard error the command that shows the entries
// left out. total is 0 when --after selected the entries.
func printAuditHint(cmd *cobra.Command, entries []api.AuditEntry, total, limit int) {
	if len(entries) == 0 {
		return
	}
	stderr := cmd.ErrOrStderr()
	first, last := entries[0].Seq, entries[len(entries)-1].Seq
	switch {
	case total > len(entries):
		fmt.Fprintf(stderr, "showing the newest %d of %d entries; older ones: virmo audit --after %d --limit %d\n",
			len(entries), total, max(first-int64(limit)-1, 0), limit)
	case total == 0 && len(entries) == limit:
		fmt.Fprintf(stderr, "more entries may follow: virmo audit --after %d\n", last)
	}
}
