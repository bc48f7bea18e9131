package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virmo/virmo/internal/tlsutil"
)

// tlsTestServer is a VirMO Server on HTTPS that requires a client
// certificate, with the files a client needs to reach it.
type tlsTestServer struct {
	running *runningServer
	server  tlsutil.DevFiles
	client  tlsutil.ClientFiles
}

func startTLSTestServer(t *testing.T, logs io.Writer) *tlsTestServer {
	t.Helper()
	pki := t.TempDir()
	serverFiles, err := tlsutil.GenerateDev(pki, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	clientFiles, err := tlsutil.GenerateClient(pki, "operator")
	if err != nil {
		t.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := &serverOptions{dataDir: t.TempDir(), serverID: "virmo-test", tls: tlsServerOptions{
		certFile:          serverFiles.ServerCert,
		keyFile:           serverFiles.ServerKey,
		clientCAFile:      clientFiles.CACert,
		requireClientCert: true,
	}}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	running, err := startServer(context.Background(), logger, opts, listener)
	if err != nil {
		listener.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = running.shutdown() })
	return &tlsTestServer{running: running, server: serverFiles, client: clientFiles}
}

func TestOperatorClientCertificate(t *testing.T) {
	srv := startTLSTestServer(t, io.Discard)
	base := []string{"enroll-token", "create", "--server", srv.running.baseURL,
		"--token", srv.running.token, "--ca", srv.server.CACert}

	_, err := runRoot(t, nil, base...)
	if err == nil {
		t.Fatal("enroll-token create without a client certificate succeeded")
	}
	if !strings.Contains(err.Error(), "requires a client certificate: pass --tls-client-cert") {
		t.Errorf("error %q does not name --tls-client-cert", err)
	}

	withFlags := append(base, "--tls-client-cert", srv.client.Cert, "--tls-client-key", srv.client.Key)
	if _, err := runRoot(t, nil, withFlags...); err != nil {
		t.Errorf("enroll-token create with --tls-client-cert: %v", err)
	}

	t.Setenv("VIRMO_TLS_CLIENT_CERT", srv.client.Cert)
	t.Setenv("VIRMO_TLS_CLIENT_KEY", srv.client.Key)
	if _, err := runRoot(t, nil, base...); err != nil {
		t.Errorf("enroll-token create with VIRMO_TLS_CLIENT_CERT: %v", err)
	}
}

func TestAgentEnrollClientCertificate(t *testing.T) {
	srv := startTLSTestServer(t, io.Discard)
	token, err := srv.running.srv.CreateEnrollToken(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runRoot(t, nil, "agent", "enroll", "--server", srv.running.baseURL, "--token", token,
		"--data", t.TempDir(), "--name", "dev", "--ca", srv.server.CACert,
		"--tls-client-cert", srv.client.Cert, "--tls-client-key", srv.client.Key)
	if err != nil {
		t.Errorf("agent enroll with --tls-client-cert: %v", err)
	}
}

func TestTLSVerifyErrorNamesCA(t *testing.T) {
	srv := startTLSTestServer(t, io.Discard)
	args := []string{"vm", "list", "--server", srv.running.baseURL, "--token", srv.running.token}

	_, err := runRoot(t, nil, args...)
	if err == nil {
		t.Fatal("vm list without --ca succeeded")
	}
	if !strings.Contains(err.Error(), "pass the server's CA with --ca or VIRMO_CA") {
		t.Errorf("error %q does not suggest --ca", err)
	}

	_, err = runRoot(t, nil, "agent", "enroll", "--server", srv.running.baseURL, "--token", "x",
		"--data", t.TempDir(), "--name", "dev")
	if err == nil {
		t.Fatal("agent enroll without --ca succeeded")
	}
	if !strings.Contains(err.Error(), "pass the server's CA with --ca or VIRMO_CA") {
		t.Errorf("agent enroll error %q does not suggest --ca", err)
	}

	t.Setenv("VIRMO_CA", filepath.Join(t.TempDir(), "missing.pem"))
	_, err = runRoot(t, nil, args...)
	if err == nil {
		t.Fatal("vm list with a missing VIRMO_CA file succeeded")
	}
	if !strings.HasPrefix(err.Error(), "VIRMO_CA:") {
		t.Errorf("error %q does not start with VIRMO_CA:", err)
	}
}

func TestEnrollCAOverHTTPRejected(t *testing.T) {
	_, err := runRoot(t, nil, "agent", "enroll", "--server", "http://127.0.0.1:1", "--token", "x",
		"--data", t.TempDir(), "--name", "dev", "--ca", "ca.pem")
	if err == nil {
		t.Fatal("agent enroll --ca with an http server succeeded")
	}
	if !strings.Contains(err.Error(), "not https, so the CA would never be used") {
		t.Errorf("error %q does not say the CA is unused", err)
	}
}

func TestServerTLSFlagsRejected(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", "srv.pem"}, "--tls-key is missing: --tls-cert needs the key file"},
		{[]string{"--tls-key", "srv.key"}, "--tls-cert is missing: --tls-key needs the certificate file"},
		{[]string{"--tls-client-ca", "ca.pem"}, "--tls-client-ca needs --tls-cert and --tls-key"},
		{[]string{"--tls-require-client-cert"}, "--tls-require-client-cert needs --tls-cert and --tls-key"},
		{[]string{"--tls-cert", "srv.pem", "--tls-key", "srv.key", "--tls-require-client-cert"},
			"--tls-require-client-cert needs --tls-client-ca"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"server", "--data", dataDir, "--listen", "127.0.0.1:0"}, tt.args...)
			_, err := runRoot(t, nil, args...)
			if err == nil {
				t.Fatal("server started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

func TestServerListenURLSeparateFromPublic(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := &serverOptions{dataDir: t.TempDir(), serverID: "virmo-test",
		publicURL: "https://virmo.example:8443"}
	running, err := startServer(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		opts, listener)
	if err != nil {
		listener.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = running.shutdown() })

	if want := "http://" + listener.Addr().String(); running.listenURL != want {
		t.Errorf("listenURL = %s, want %s", running.listenURL, want)
	}
	if running.baseURL != opts.publicURL {
		t.Errorf("baseURL = %s, want %s", running.baseURL, opts.publicURL)
	}
}

func TestTLSHandshakeErrorLoggedThroughSlog(t *testing.T) {
	logs := &syncBuffer{}
	srv := startTLSTestServer(t, logs)
	// A client that does not trust the server aborts the handshake, which
	// makes net/http log a handshake error on the server side.
	_, _ = runRoot(t, nil, "vm", "list", "--server", srv.running.baseURL, "--token", "x")

	waitUntil(t, "the TLS handshake error in the JSON log", func() bool {
		return strings.Contains(logs.String(), `"msg":"http: TLS handshake error`)
	})
}
