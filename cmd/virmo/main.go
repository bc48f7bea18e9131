// Command virmo is the VirMO Server, the VirMO Client (agent) and the
// operator CLI in one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	err := newRootCommand().ExecuteContext(ctx)
	if err == nil {
		return
	}
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.msg != "" {
			fmt.Fprintln(os.Stderr, "virmo:", exit.msg)
		}
		os.Exit(exit.code)
	}
	fmt.Fprintln(os.Stderr, "virmo:", err)
	os.Exit(1)
}

// exitError ends the program with a given exit code and message.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

type globalOptions struct {
	logLevel  string
	logFormat string
}

func newRootCommand() *cobra.Command {
	opts := &globalOptions{}
	root := &cobra.Command{
		Use:           "virmo",
		Short:         "Manage virtual machines on devices over OMA Device Management",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Every command checks the log flags, so a typo is reported even by
		// commands that log nothing.
		PersistentPreRunE: func(*cobra.Command, []string) error {
			_, err := opts.newLogger()
			return err
		},
	}
	root.PersistentFlags().StringVar(&opts.logLevel, "log-level", "info",
		"minimum level of log lines: debug, info, warn or error "+
			"(used by server, agent and dev; the other commands write no log lines)")
	root.PersistentFlags().StringVar(&opts.logFormat, "log-format", "text",
		"log line format: text or json (used by server, agent and dev)")

	root.AddCommand(
		newServerCommand(opts),
		newAgentCommand(opts),
		newDevCommand(opts),
		newUnlockCommand(),
		newDeviceCommand(),
		newVMCommand(),
		newIntentCommand(),
		newEnrollTokenCommand(),
		newAuditCommand(),
		newDDFCommand(),
		newSyncMLCommand(),
	)
	for _, cmd := range root.Commands() {
		rejectUnknownSubcommands(cmd)
	}
	return root
}

// rejectUnknownSubcommands makes every command below cmd that only groups
// subcommands fail on an unknown one. Cobra itself does that only for the
// root command; other groups print their help and exit 0.
func rejectUnknownSubcommands(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return fmt.Errorf("unknown command %q for %q; run '%s --help' for its subcommands",
				args[0], cmd.CommandPath(), cmd.CommandPath())
		}
	}
	for _, sub := range cmd.Commands() {
		rejectUnknownSubcommands(sub)
	}
}

// newLogger returns the slog logger the global flags ask for, writing to
// standard error.
func (o *globalOptions) newLogger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", o.logLevel)
	}
	handlerOpts := &slog.HandlerOptions{Level: level}
	switch o.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, handlerOpts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, handlerOpts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", o.logFormat)
}
