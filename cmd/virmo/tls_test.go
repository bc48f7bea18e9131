package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

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
