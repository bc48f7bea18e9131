package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/virmo/virmo/apiclient"
)

// requestTimeout bounds each HTTP request of the operator commands,
// from connecting to reading the whole response. Tests shorten it.
var requestTimeout = 30 * time.Second

// client checks the operator flags and returns the API client they select.
func (o *operatorOptions) client() (*apiclient.Client, error) {
	serverURL, err := parseServerURL(o.server)
	if err != nil {
		return nil, err
	}
	token := o.token
	if token == "" {
		token = envOr("VIRMO_TOKEN", "")
	}
	if token == "" {
		return nil, errors.New("no admin token: pass --token or set VIRMO_TOKEN (virmo dev writes it to DATA/admin.token)")
	}
	if o.output != "table" && o.output != "json" {
		return nil, fmt.Errorf("--output %q: use table or json", o.output)
	}
	o.tls.resolve(true)
	httpClient, err := o.tls.httpClient(requestTimeout)
	if err != nil {
		return nil, err
	}
	o.serverURL = serverURL
	return apiclient.New(serverURL, strings.TrimSpace(token), httpClient), nil
}

// parseServerURL checks a --server value and returns it without
// surrounding spaces. It must be an http or https URL with a host.
func parseServerURL(raw string) (string, error) {
	value := strings.TrimSpace(raw)
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid --server %q: use a URL such as http://127.0.0.1:8080 "+
			"(the flag defaults to VIRMO_SERVER)", raw)
	}
	if _, err := url.Parse(value + "/api/v1"); err != nil {
		return "", fmt.Errorf("invalid --server %q: %v", raw, err)
	}
	return value, nil
}

// runE wraps the RunE of an operator command so that a failed HTTP
// exchange names the server and the flag to check.
func (o *operatorOptions) runE(run func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		return o.explainRequestError(run(cmd, args))
	}
}

// explainRequestError rewrites transport errors (no connection, no
// response in time) into a message that names the server URL and the
// flag that sets it. Other errors, such as the server's own error
// responses, are returned unchanged.
func (o *operatorOptions) explainRequestError(err error) error {
	var urlErr *url.Error
	if err == nil || !errors.As(err, &urlErr) {
		return err
	}
	server := o.serverURL
	if server == "" {
		server = o.server
	}
	if hint := o.tls.explainTLSError(err); hint != "" {
		return fmt.Errorf("request to the VirMO Server at %s failed: %w; %s", server, urlErr.Err, hint)
	}
	const check = "check that the server is running and that --server (or VIRMO_SERVER) names it"
	switch {
	case urlErr.Timeout():
		return fmt.Errorf("request to the VirMO Server at %s timed out after %s; %s", server, requestTimeout, check)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("connect to the VirMO Server at %s: connection refused; %s", server, check)
	}
	return fmt.Errorf("request to the VirMO Server at %s failed: %w; %s", server, urlErr.Err, check)
}
