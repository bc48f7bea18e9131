package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// testServer is a real VirMO Server on a loopback port with its own data
// directory, for running operator commands in-process.
type testServer struct {
	running *runningServer
	dataDir string
}

func startTestServer(t *testing.T) *testServer {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	running, err := startServer(context.Background(), logger,
		&serverOptions{dataDir: dataDir, serverID: "virmo-test"}, listener)
	if err != nil {
		listener.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = running.shutdown() })
	return &testServer{running: running, dataDir: dataDir}
}

// run runs the virmo command line args against the server.
func (s *testServer) run(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	args = append(args, "--server", s.running.baseURL, "--token", s.running.token)
	return runRoot(t, stdin, args...)
}

func TestServerFlagRejected(t *testing.T) {
	tests := []struct {
		name   string
		server string
	}{
		{"no scheme", "127.0.0.1:8080"},
		{"empty", ""},
		{"spaces only", "   "},
		{"ftp scheme", "ftp://127.0.0.1"},
		{"no host", "http://"},
		{"space in port", "http://127.0.0.1:8080 x"},
		{"query", "http://127.0.0.1:8080/?a=b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runRoot(t, nil, "vm", "list", "--server", tt.server, "--token", "x")
			if err == nil {
				t.Fatal("vm list succeeded")
			}
			want := "invalid --server \"" + tt.server + "\""
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
			if !strings.Contains(err.Error(), "http://127.0.0.1:8080") {
				t.Errorf("error %q lacks an example URL", err)
			}
		})
	}
}

func TestServerFlagTrailingSpaceTrimmed(t *testing.T) {
	srv := startTestServer(t)
	_, err := runRoot(t, nil, "vm", "list", "--server", srv.running.baseURL+"  ", "--token", srv.running.token)
	if err != nil {
		t.Fatalf("vm list with a trailing space in --server: %v", err)
	}
}

func TestConnectionRefusedNamesServer(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + listener.Addr().String()
	listener.Close()

	_, err = runRoot(t, nil, "vm", "list", "--server", url, "--token", "x")
	if err == nil {
		t.Fatal("vm list succeeded without a server")
	}
	for _, want := range []string{url, "connection refused", "VIRMO_SERVER"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestSilentServerTimesOut(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The server accepts connections and never reads from or writes to
	// them.
	var acceptedConns []net.Conn
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			acceptedConns = append(acceptedConns, conn)
		}
	}()
	defer func() {
		listener.Close()
		<-acceptDone
		for _, conn := range acceptedConns {
			conn.Close()
		}
	}()
	saved := requestTimeout
	requestTimeout = 200 * time.Millisecond
	defer func() { requestTimeout = saved }()

	url := "http://" + listener.Addr().String()
	_, err = runRoot(t, nil, "vm", "list", "--server", url, "--token", "x")
	if err == nil {
		t.Fatal("vm list succeeded against a server that never replies")
	}
	for _, want := range []string{"request to the VirMO Server at " + url + " timed out", "--server"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
