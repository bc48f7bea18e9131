package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/virmo/virmo/internal/tlsutil"
)

// tlsClientOptions are the TLS flags of the operator commands and of
// "virmo agent enroll": the CA the server is verified against and the
// client certificate for a server started with --tls-require-client-cert.
type tlsClientOptions struct {
	caFile   string
	certFile string
	keyFile  string
	// caSource names where caFile came from, "--ca" or "VIRMO_CA", for
	// error messages; resolve sets it.
	caSource string
}

// addTLSClientFlags adds --ca, --tls-client-cert and --tls-client-key to
// the flag set. caUsage describes --ca.
func addTLSClientFlags(flags *pflag.FlagSet, opts *tlsClientOptions, caUsage, certEnvNote string) {
	flags.StringVar(&opts.caFile, "ca", "", caUsage)
	flags.StringVar(&opts.certFile, "tls-client-cert", "",
		"PEM client certificate to present to an HTTPS server that requires one"+certEnvNote)
	flags.StringVar(&opts.keyFile, "tls-client-key", "",
		"PEM private key of --tls-client-cert")
}

// resolve fills the options that no flag set from the environment:
// VIRMO_CA always, and VIRMO_TLS_CLIENT_CERT and VIRMO_TLS_CLIENT_KEY when
// withCertEnv is true.
func (o *tlsClientOptions) resolve(withCertEnv bool) {
	o.caSource = "--ca"
	if o.caFile == "" {
		if env := os.Getenv("VIRMO_CA"); env != "" {
			o.caFile = env
			o.caSource = "VIRMO_CA"
		}
	}
	if withCertEnv && o.certFile == "" && o.keyFile == "" {
		o.certFile = os.Getenv("VIRMO_TLS_CLIENT_CERT")
		o.keyFile = os.Getenv("VIRMO_TLS_CLIENT_KEY")
	}
}

// httpClient returns an HTTP client for the options. resolve must run
// first. Errors name the flag or variable that gave the bad file.
func (o *tlsClientOptions) httpClient(timeout time.Duration) (*http.Client, error) {
	switch {
	case o.certFile != "" && o.keyFile == "":
		return nil, errors.New("--tls-client-key is missing: --tls-client-cert needs the key file")
	case o.keyFile != "" && o.certFile == "":
		return nil, errors.New("--tls-client-cert is missing: --tls-client-key needs the certificate file")
	}
	if o.caFile != "" {
		if _, err := tlsutil.LoadCAPool(o.caFile); err != nil {
			return nil, fmt.Errorf("%s: %w", o.caSource, err)
		}
	}
	client, err := tlsutil.NewHTTPClient(tlsutil.ClientOptions{
		CAFile:   o.caFile,
		CertFile: o.certFile,
		KeyFile:  o.keyFile,
		Timeout:  timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("--tls-client-cert/--tls-client-key: %w", err)
	}
	return client, nil
}

// explainTLSError adds what to do to an error from an HTTPS request that
// failed because the server's certificate did not verify or because the
// server wanted a client certificate. It returns "" for other errors.
func (o *tlsClientOptions) explainTLSError(err error) string {
	var verifyErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &verifyErr) && o.caFile == "":
		return "pass the server's CA with --ca or VIRMO_CA (virmo dev --tls writes DATA/ca.pem)"
	case errors.As(err, &verifyErr):
		return fmt.Sprintf("the server's certificate does not verify against %s %s: "+
			"pass the CA that signed it", o.caSource, o.caFile)
	case strings.Contains(err.Error(), "tls: certificate required"):
		return "the server requires a client certificate: pass --tls-client-cert and --tls-client-key"
	}
	return ""
}
