package unlock

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// failTimeout only keeps a broken server from hanging a test; no check
// depends on it.
const failTimeout = 30 * time.Second

// signalHandler is a slog.Handler that writes records as text into buf
// and sends each message on seen without blocking.
type signalHandler struct {
	mu   *sync.Mutex
	buf  *bytes.Buffer
	seen chan string
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h signalHandler) WithGroup(string) slog.Handler            { return h }

func (h signalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	err := slog.NewTextHandler(h.buf, nil).Handle(ctx, r)
	h.mu.Unlock()
	select {
	case h.seen <- r.Message:
	default:
	}
	return err
}

// testServer is a server with test limits on a socket in a temporary
// directory. stop ends Serve and waits for every connection.
type testServer struct {
	path string
	h    *lockedVMs
	seen chan string
	stop func()

	mu   sync.Mutex
	logs bytes.Buffer
}

func (s *testServer) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

func startLimited(t *testing.T, lim limits) *testServer {
	t.Helper()
	// Unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "unlock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &testServer{path: filepath.Join(dir, "unlock.sock"), h: &lockedVMs{locked: true},
		seen: make(chan string, 64)}
	ln, err := Listen(s.path)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(signalHandler{mu: &s.mu, buf: &s.logs, seen: s.seen})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, s.h, logger, lim) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

// dialIdle opens a connection that sends nothing until the test ends.
func dialIdle(t *testing.T, path string) net.Conn {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readResponse reads one response line from conn.
func readResponse(t *testing.T, conn net.Conn) Response {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(failTimeout))
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		t.Fatalf("response %q: %v", line, err)
	}
	return resp
}

// waitForLog waits until the server has logged msg count times.
func waitForLog(t *testing.T, s *testServer, msg string, count int) {
	t.Helper()
	timeout := time.After(failTimeout)
	for count > 0 {
		select {
		case got := <-s.seen:
			if got == msg {
				count--
			}
		case <-timeout:
			t.Fatalf("server logged %q too few times; logs:\n%s", msg, s.logText())
		}
	}
}

func TestSocketBusyBeyondCap(t *testing.T) {
	s := startLimited(t, limits{requestTimeout: time.Hour, connTimeout: time.Hour, maxConns: 2})
	dialIdle(t, s.path)
	dialIdle(t, s.path)

	conn := dialIdle(t, s.path)
	resp := readResponse(t, conn)
	if resp.Code != CodeBusy {
		t.Errorf("code = %q (%s), want %q", resp.Code, resp.Error, CodeBusy)
	}
	if !strings.Contains(resp.Error, "try again") {
		t.Errorf("busy message = %q, want advice to try again", resp.Error)
	}
}

func TestClientRetriesWhileBusy(t *testing.T) {
	s := startLimited(t, limits{requestTimeout: time.Hour, connTimeout: time.Hour, maxConns: 1})
	idle := dialIdle(t, s.path)

	result := make(chan error, 1)
	go func() { result <- Unlock(context.Background(), s.path, "vm1", []byte("0123")) }()

	// Free the only slot once the client has been rejected at least once.
	waitForLog(t, s, "unlock socket busy, connection rejected", 1)
	idle.Close()

	if err := <-result; err != nil {
		t.Fatalf("Unlock after the socket became free: %v", err)
	}
	if n := len(s.h.secrets); n != 1 {
		t.Errorf("handler carried out %d unlock requests, want 1", n)
	}
}

func TestSocketIdleClientTimesOut(t *testing.T) {
	s := startLimited(t, limits{requestTimeout: 50 * time.Millisecond, connTimeout: time.Hour,
		maxConns: 1})
	idle := dialIdle(t, s.path)

	resp := readResponse(t, idle)
	if resp.Code != CodeBadRequest {
		t.Errorf("code = %q (%s), want %q", resp.Code, resp.Error, CodeBadRequest)
	}
	if !strings.Contains(resp.Error, "timed out") {
		t.Errorf("message = %q, want it to say the request timed out", resp.Error)
	}

	// The slot is free again for the next client.
	if _, err := GetStatus(context.Background(), s.path, "vm1"); err != nil {
		t.Errorf("status after the idle client timed out: %v", err)
	}
}

func TestSocketGoneClientAttemptCounts(t *testing.T) {
	s := startLimited(t, defaultLimits)
	const clients = 5
	for range clients {
		conn, err := net.Dial("unix", s.path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Write([]byte(`{"op":"unlock","vm":"vm1","secret":"YmFk"}` + "\n"))
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	waitForLog(t, s, "user unlock refused", clients)
	s.stop()

	// Every wrong secret counts, read or not, up to the attempt limit.
	if got, want := s.h.attempts, min(clients, maxAttempts); got != want {
		t.Errorf("attempts counted = %d, want %d", got, want)
	}
	logs := s.logText()
	if n := strings.Count(logs, "write unlock response failed"); n != 1 {
		t.Errorf("write failures logged %d times, want 1; logs:\n%s", n, logs)
	}
}

func TestSocketEmptyFieldMessages(t *testing.T) {
	path, _ := startServer(t, nil)

	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"empty secret", `{"op":"unlock","vm":"vm1","secret":""}` + "\n", "no secret typed"},
		{"missing secret", `{"op":"unlock","vm":"vm1"}` + "\n", "no secret typed"},
		{"empty vm", `{"op":"unlock","vm":"","secret":"YmFk"}` + "\n", "no VM name given"},
		{"empty vm status", `{"op":"status","vm":""}` + "\n", "no VM name given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawCall(t, path, []byte(tt.raw))
			if resp.Code != CodeBadRequest {
				t.Errorf("code = %q, want %q", resp.Code, CodeBadRequest)
			}
			if resp.Error != tt.want {
				t.Errorf("message = %q, want %q", resp.Error, tt.want)
			}
		})
	}
}

func TestLogLimiterSuppressesRepeats(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	l := newLogLimiter(time.Hour)

	for range 5 {
		l.warn(logger, "write failed", "code", "x")
	}
	l.warn(logger, "other failure")

	if n := strings.Count(logs.String(), "write failed"); n != 1 {
		t.Errorf("repeated message logged %d times, want 1", n)
	}
	if n := strings.Count(logs.String(), "other failure"); n != 1 {
		t.Errorf("second message logged %d times, want 1", n)
	}
}
