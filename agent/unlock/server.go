package unlock

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ConnTimeout bounds one connection, from accept to the response written,
// so a client that stops sending holds no goroutine.
const ConnTimeout = 10 * time.Second

// maxConns bounds the connections served at once; further clients wait in
// the listen backlog.
const maxConns = 8

// Handler carries out the requests. Unlock returns nil when the VM was
// unlocked, an *Error for a refusal, and any other error for a failure,
// which the client sees as CodeInternal.
type Handler interface {
	Unlock(ctx context.Context, vm string, secret []byte) error
	Status(ctx context.Context, vm string) (Status, error)
}

// Serve accepts connections on ln until ctx is done, then closes ln and
// waits for the connections in progress. It returns nil after ctx is done
// and the accept error otherwise.
func Serve(ctx context.Context, ln net.Listener, h Handler, logger *slog.Logger) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxConns)

	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept on unlock socket: %w", err)
		}

		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			serveConn(ctx, conn, h, logger)
		})
	}
}

func serveConn(ctx context.Context, conn net.Conn, h Handler, logger *slog.Logger) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(ConnTimeout))
	ctx, cancel := context.WithTimeout(ctx, ConnTimeout)
	defer cancel()

	resp := handle(ctx, conn, h, logger)
	line, err := json.Marshal(resp)
	if err != nil {
		logger.Error("encode unlock response", "err", err)
		return
	}
	if _, err := conn.Write(append(line, '\n')); err != nil {
		logger.Warn("write unlock response", "err", err)
	}
}

// handle reads and carries out one request. It never logs the request
// line, which holds the secret.
func handle(ctx context.Context, conn io.Reader, h Handler, logger *slog.Logger) Response {
	line, err := readLine(conn, MaxRequestSize)
	defer clear(line)
	if err != nil {
		return refusal(&Error{Code: CodeBadRequest, Message: "invalid request: " + err.Error()})
	}

	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return refusal(&Error{Code: CodeBadRequest,
			Message: "request is not a valid JSON object: " + jsonErrorText(err)})
	}
	defer clear(req.Secret)
	if dec.More() {
		return refusal(&Error{Code: CodeBadRequest,
			Message: "request line holds more than one JSON value"})
	}
	if req.VM == "" {
		return refusal(&Error{Code: CodeBadRequest, Message: `request lacks "vm"`})
	}

	switch req.Op {
	case OpUnlock:
		return doUnlock(ctx, h, req, logger)
	case OpStatus:
		return doStatus(ctx, h, req, logger)
	}
	return refusal(&Error{Code: CodeUnknownOp,
		Message: fmt.Sprintf("unknown op %q; use %q or %q", req.Op, OpUnlock, OpStatus)})
}

func doUnlock(ctx context.Context, h Handler, req Request, logger *slog.Logger) Response {
	if len(req.Secret) == 0 {
		return refusal(&Error{Code: CodeBadRequest, Message: `unlock request lacks "secret"`})
	}

	err := h.Unlock(ctx, req.VM, req.Secret)
	if err == nil {
		logger.Info("user unlocked VM", "vm", req.VM)
		return Response{OK: true}
	}

	var refused *Error
	if errors.As(err, &refused) {
		logger.Warn("user unlock refused", "vm", req.VM, "code", refused.Code,
			"attempts_left", refused.AttemptsLeft)
		return refusal(refused)
	}
	logger.Error("user unlock failed", "vm", req.VM, "err", err)
	return refusal(&Error{Code: CodeInternal, Message: "the agent failed to unlock the VM; see its log"})
}

func doStatus(ctx context.Context, h Handler, req Request, logger *slog.Logger) Response {
	st, err := h.Status(ctx, req.VM)
	if err != nil {
		var refused *Error
		if errors.As(err, &refused) {
			return refusal(refused)
		}
		logger.Error("read unlock status", "vm", req.VM, "err", err)
		return refusal(&Error{Code: CodeInternal, Message: "the agent failed to read the lock status; see its log"})
	}
	return Response{
		OK:           true,
		Locked:       &st.Locked,
		UserUnlock:   &st.UserUnlock,
		AttemptsLeft: &st.AttemptsLeft,
	}
}

func refusal(e *Error) Response {
	r := Response{Code: e.Code, Error: e.Message}
	switch e.Code {
	case CodeWrongSecret, CodeAttemptsExhausted, CodeNotAllowed:
		n := e.AttemptsLeft
		r.AttemptsLeft = &n
	}
	return r
}

// readLine reads one line of at most limit bytes (newline included) and
// returns it without the newline. End of input also ends the line.
func readLine(r io.Reader, limit int) ([]byte, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, int64(limit)+1), 512)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > limit {
			clear(line)
			return nil, fmt.Errorf("line is longer than %d bytes", limit)
		}
		if err == nil {
			return line[:len(line)-1], nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			return line, nil
		}
		clear(line)
		if errors.Is(err, io.EOF) {
			return nil, errors.New("connection closed before a full line")
		}
		return nil, fmt.Errorf("read line: %w", err)
	}
}

// jsonErrorText describes a JSON decoding error without quoting the input,
// which may hold the secret.
func jsonErrorText(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "incomplete JSON"
	}
	// Unknown fields and invalid base64 end up here; their messages name
	// the field or the position but not the value.
	return err.Error()
}
