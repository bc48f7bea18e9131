package unlock

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// lockedVMs is a Handler with one locked VM "vm1" whose secret is "0123"
// and one unlocked VM "vm2". It counts wrong secrets like the VirMO MO.
type lockedVMs struct {
	mu       sync.Mutex
	locked   bool
	attempts int
	secrets  [][]byte
}

const maxAttempts = 3

func (h *lockedVMs) Unlock(ctx context.Context, vm string, secret []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secrets = append(h.secrets, bytes.Clone(secret))

	switch {
	case vm == "boom":
		return errors.New("disk on fire")
	case vm == "vm2":
		return &Error{Code: CodeNotLocked, Message: "vm2 is not locked"}
	case vm != "vm1":
		return &Error{Code: CodeNoSuchVM, Message: "no VM named " + vm}
	case h.attempts >= maxAttempts:
		return &Error{Code: CodeAttemptsExhausted, Message: "too many wrong secrets"}
	case string(secret) != "0123":
		h.attempts++
		return &Error{Code: CodeWrongSecret, Message: "wrong secret",
			AttemptsLeft: maxAttempts - h.attempts}
	}
	h.locked = false
	return nil
}

func (h *lockedVMs) Status(ctx context.Context, vm string) (Status, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if vm != "vm1" {
		return Status{}, &Error{Code: CodeNoSuchVM, Message: "no VM named " + vm}
	}
	return Status{Locked: h.locked, UserUnlock: h.locked, AttemptsLeft: maxAttempts - h.attempts}, nil
}

// startServer serves a fresh lockedVMs on a socket in a temporary
// directory, logging into logs.
func startServer(t *testing.T, logs *bytes.Buffer) (string, *lockedVMs) {
	t.Helper()
	// Unix socket paths are limited to about 100 bytes, which a t.TempDir
	// under a long TMPDIR can exceed.
	dir, err := os.MkdirTemp("", "unlock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s")

	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	h := &lockedVMs{locked: true}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	go func() { done <- Serve(ctx, ln, h, logger) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path, h
}

// rawCall sends raw bytes as the request and returns the decoded response.
func rawCall(t *testing.T, path string, raw []byte) Response {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(raw); err != nil {
		t.Fatal(err)
	}
	conn.(*net.UnixConn).CloseWrite()

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

func TestSocketBadRequests(t *testing.T) {
	path, _ := startServer(t, nil)

	tests := []struct {
		name string
		raw  string
		code string
	}{
		{"not json", "hello\n", CodeBadRequest},
		{"empty line", "\n", CodeBadRequest},
		{"no line at all", "", CodeBadRequest},
		{"json array", `["unlock"]` + "\n", CodeBadRequest},
		{"two values", `{"op":"status","vm":"vm1"} {}` + "\n", CodeBadRequest},
		{"unknown field", `{"op":"status","vm":"vm1","pin":1}` + "\n", CodeBadRequest},
		{"secret not base64", `{"op":"unlock","vm":"vm1","secret":"***"}` + "\n", CodeBadRequest},
		{"secret wrong type", `{"op":"unlock","vm":"vm1","secret":5}` + "\n", CodeBadRequest},
		{"missing vm", `{"op":"status"}` + "\n", CodeBadRequest},
		{"missing secret", `{"op":"unlock","vm":"vm1"}` + "\n", CodeBadRequest},
		{"unknown op", `{"op":"wipe","vm":"vm1"}` + "\n", CodeUnknownOp},
		{"empty op", `{"vm":"vm1"}` + "\n", CodeUnknownOp},
		{"oversize", `{"op":"status","vm":"` + strings.Repeat("x", MaxRequestSize) + `"}` + "\n",
			CodeBadRequest},
		{"oversize without newline", strings.Repeat("{", 3*MaxRequestSize), CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawCall(t, path, []byte(tt.raw))
			if resp.OK {
				t.Fatalf("ok = true, want a refusal")
			}
			if resp.Code != tt.code {
				t.Errorf("code = %q (%s), want %q", resp.Code, resp.Error, tt.code)
			}
			if resp.Error == "" {
				t.Errorf("refusal without an error message")
			}
		})
	}
}

func TestSocketRequestAtSizeLimit(t *testing.T) {
	path, _ := startServer(t, nil)

	prefix, suffix := `{"op":"status","vm":"`, `"}`+"\n"
	vm := strings.Repeat("x", MaxRequestSize-len(prefix)-len(suffix))
	resp := rawCall(t, path, []byte(prefix+vm+suffix))
	if resp.Code != CodeNoSuchVM {
		t.Errorf("code = %q (%s), want %q", resp.Code, resp.Error, CodeNoSuchVM)
	}
}

func TestSocketUnlockFlow(t *testing.T) {
	var logs bytes.Buffer
	path, h := startServer(t, &logs)
	ctx := context.Background()

	st, err := GetStatus(ctx, path, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Status{Locked: true, UserUnlock: true, AttemptsLeft: maxAttempts}); st != want {
		t.Errorf("status = %+v, want %+v", st, want)
	}

	// "123" is not "0123": the secret is bytes, never a number.
	err = Unlock(ctx, path, "vm1", []byte("123"))
	var refused *Error
	if !errors.As(err, &refused) {
		t.Fatalf("wrong secret: err = %v, want *Error", err)
	}
	if refused.Code != CodeWrongSecret {
		t.Errorf("code = %q, want %q", refused.Code, CodeWrongSecret)
	}
	if refused.AttemptsLeft != maxAttempts-1 {
		t.Errorf("attempts left = %d, want %d", refused.AttemptsLeft, maxAttempts-1)
	}

	if err := Unlock(ctx, path, "vm1", []byte("0123")); err != nil {
		t.Fatalf("right secret: %v", err)
	}
	st, err = GetStatus(ctx, path, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if st.Locked {
		t.Errorf("VM still locked after a successful unlock")
	}

	// The handler got the exact bytes, and no log line holds them.
	if got := string(h.secrets[len(h.secrets)-1]); got != "0123" {
		t.Errorf("handler got secret %q, want %q", got, "0123")
	}
	if strings.Contains(logs.String(), "0123") || strings.Contains(logs.String(), "MDEyMw") {
		t.Errorf("log holds the secret:\n%s", logs.String())
	}
}

func TestSocketRefusals(t *testing.T) {
	path, _ := startServer(t, nil)
	ctx := context.Background()

	tests := []struct {
		vm   string
		code string
	}{
		{"vm2", CodeNotLocked},
		{"nope", CodeNoSuchVM},
		{"boom", CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.vm, func(t *testing.T) {
			err := Unlock(ctx, path, tt.vm, []byte("0123"))
			var refused *Error
			if !errors.As(err, &refused) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if refused.Code != tt.code {
				t.Errorf("code = %q, want %q", refused.Code, tt.code)
			}
		})
	}
}

func TestSocketAttemptsExhausted(t *testing.T) {
	path, _ := startServer(t, nil)
	ctx := context.Background()

	for range maxAttempts {
		Unlock(ctx, path, "vm1", []byte("bad"))
	}
	err := Unlock(ctx, path, "vm1", []byte("0123"))
	var refused *Error
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if refused.Code != CodeAttemptsExhausted {
		t.Errorf("code = %q, want %q", refused.Code, CodeAttemptsExhausted)
	}
	if refused.AttemptsLeft != 0 {
		t.Errorf("attempts left = %d, want 0", refused.AttemptsLeft)
	}
}

func TestListenSocketMode(t *testing.T) {
	path, _ := startServer(t, nil)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("socket mode = %o, want 600", mode)
	}
}

func TestListenStaleAndBusy(t *testing.T) {
	dir, err := os.MkdirTemp("", "unlock")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// A socket nobody accepts on is stale and gets replaced.
	stale := filepath.Join(dir, "stale")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	ln2, err := Listen(stale)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}

	// A socket with a live listener is in use.
	if _, err := Listen(stale); err == nil {
		t.Errorf("Listen on a busy socket succeeded")
	}
	ln2.Close()

	// A regular file is never removed.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(file); err == nil {
		t.Errorf("Listen over a regular file succeeded")
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("regular file removed: %v", err)
	}
}

func FuzzReadLine(f *testing.F) {
	f.Add([]byte(`{"op":"status","vm":"vm1"}` + "\n"))
	f.Add([]byte("no newline"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		line, err := readLine(bytes.NewReader(data), 64)
		if err != nil {
			return
		}
		if len(line) > 64 {
			t.Fatalf("line of %d bytes over the limit", len(line))
		}
		if bytes.IndexByte(line, '\n') >= 0 {
			t.Fatalf("line %q holds a newline", line)
		}
	})
}

func FuzzHandleRequest(f *testing.F) {
	f.Add([]byte(`{"op":"unlock","vm":"vm1","secret":"MDEyMw=="}` + "\n"))
	f.Add([]byte(`{"op":"status","vm":"vm1"}`))
	f.Add([]byte(`{"op":"unlock","vm":"vm1","secret":"***"}`))
	f.Add([]byte(`[]`))
	codes := map[string]bool{
		CodeWrongSecret: true, CodeNotAllowed: true, CodeAttemptsExhausted: true,
		CodeNotLocked: true, CodeNoSuchVM: true, CodeBadRequest: true,
		CodeUnknownOp: true, CodeInternal: true,
	}
	logger := slog.New(slog.DiscardHandler)

	f.Fuzz(func(t *testing.T, data []byte) {
		h := &lockedVMs{locked: true}
		resp := handle(context.Background(), bytes.NewReader(data), h, logger)
		if resp.OK {
			if resp.Code != "" || resp.Error != "" {
				t.Fatalf("ok response with code %q and error %q", resp.Code, resp.Error)
			}
			return
		}
		if !codes[resp.Code] {
			t.Fatalf("unknown code %q", resp.Code)
		}
		if resp.Error == "" {
			t.Fatalf("refusal %q without a message", resp.Code)
		}
	})
}

func TestListenGroupSocketMode(t *testing.T) {
	gid := os.Getgid()
	groups := []string{strconv.Itoa(gid)}
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		groups = append(groups, g.Name)
	}
	for _, group := range groups {
		t.Run(group, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "unlock")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			path := filepath.Join(dir, "unlock.sock")

			ln, err := ListenGroup(path, group)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()

			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o660 {
				t.Errorf("socket mode = %04o, want 0660", mode)
			}
			if got := fi.Sys().(*syscall.Stat_t).Gid; int(got) != gid {
				t.Errorf("socket group = %d, want %d", got, gid)
			}
		})
	}
}

func TestListenGroupInvalid(t *testing.T) {
	tests := []string{"no-such-group-virmo", "-5"}
	for _, group := range tests {
		t.Run(group, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "unlock")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			path := filepath.Join(dir, "unlock.sock")

			ln, err := ListenGroup(path, group)
			if err == nil {
				ln.Close()
				t.Fatalf("ListenGroup(%q) succeeded, want an error", group)
			}
			if !strings.Contains(err.Error(), strconv.Quote(group)) {
				t.Errorf("error = %q, want the group %q named", err, group)
			}
			if _, err := os.Lstat(path); err == nil {
				t.Errorf("socket created although the group is invalid")
			}
		})
	}
}
