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
	"os"
	"sync"
	"time"
)

// RequestTimeout bounds the time from accept to the end of the request
// line, so an idle client holds its connection slot only briefly.
const RequestTimeout = 5 * time.Second

// ConnTimeout bounds one connection, from accept to the response written,
// so a client that stops sending or reading holds no goroutine. It must
// stay below the client's own timeout, so a client never gives up on a
// request that the agent still carries out.
const ConnTimeout = 10 * time.Second

// maxConns bounds the connections served at once. A client beyond it gets
// CodeBusy at once instead of waiting in the listen backlog, where its
// request could be read only after the client gave up.
const maxConns = 16

// warnInterval is the minimum time between two log lines of one kind of
// client failure (a failed response write, a busy rejection), so a flood of
// clients does not fill the log.
const warnInterval = time.Minute

// Handler carries out the requests. Unlock returns nil when the VM was
// unlocked, an *Error for a rejection, and any other error for a failure,
// which the client sees as CodeInternal.
type Handler interface {
	Unlock(ctx context.Context, vm string, secret []byte) error
	Status(ctx context.Context, vm string) (Status, error)
}

// limits are the timeouts and the connection cap of a server. Tests
// shorten or lengthen them.
type limits struct {
	requestTimeout time.Duration
	connTimeout    time.Duration
	maxConns       int
}

var defaultLimits = limits{
	requestTimeout: RequestTimeout,
	connTimeout:    ConnTimeout,
	maxConns:       maxConns,
}

// server is one Serve call.
type server struct {
	h        Handler
	log      *slog.Logger
	limits   limits
	warnings *logLimiter
}

// Serve accepts connections on ln until ctx is done, then closes ln and
// waits for the connections in progress. It returns nil after ctx is done
// and the accept error otherwise.
//
// Every complete request is carried out, even when its client has gone
// before the response is written. An unlock attempt therefore counts
// whether or not the client reads the result, so disconnecting never buys
// a free guess.
func Serve(ctx context.Context, ln net.Listener, h Handler, logger *slog.Logger) error {
	return serve(ctx, ln, h, logger, defaultLimits)
}

func serve(ctx context.Context, ln net.Listener, h Handler, logger *slog.Logger,
	lim limits) error {
	s := &server{h: h, log: logger, limits: lim, warnings: newLogLimiter(warnInterval)}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, lim.maxConns)

	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept on unlock socket: %w", err)
		}

		select {
		case slots <- struct{}{}:
			wg.Go(func() {
				defer func() { <-slots }()
				s.serveConn(ctx, conn)
			})
		default:
			s.rejectBusy(conn)
		}
	}
}

// rejectBusy replies to a connection beyond the cap with CodeBusy without
// reading its request, which is therefore never carried out.
func (s *server) rejectBusy(conn net.Conn) {
	defer conn.Close()
	s.warnings.warn(s.log, "unlock socket busy, connection rejected",
		"max_conns", s.limits.maxConns)

	// A new connection's send buffer is empty, so this write does not
	// block. The deadline only guards the accept loop.
	conn.SetWriteDeadline(time.Now().Add(time.Second))
	resp := errorResponse(&Error{Code: CodeBusy, Message: fmt.Sprintf(
		"the agent is serving %d other clients; try again in a moment", s.limits.maxConns)})
	s.writeResponse(conn, resp)
}

func (s *server) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	start := time.Now()
	conn.SetDeadline(start.Add(s.limits.connTimeout))
	conn.SetReadDeadline(start.Add(min(s.limits.requestTimeout, s.limits.connTimeout)))
	ctx, cancel := context.WithDeadline(ctx, start.Add(s.limits.connTimeout))
	defer cancel()

	line, err := readLine(conn, MaxRequestSize)
	defer clear(line)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		s.warnings.warn(s.log, "unlock client sent no request line in time",
			"timeout", s.limits.requestTimeout)
	}
	resp := handleLine(ctx, line, err, s.h, s.log)
	s.writeResponse(conn, resp)
}

// writeResponse writes resp as one line. A write that fails because the
// client has gone is logged at most once per warnInterval.
func (s *server) writeResponse(conn net.Conn, resp Response) {
	line, err := json.Marshal(resp)
	if err != nil {
		s.log.Error("encode unlock response", "err", err)
		return
	}
	if _, err := conn.Write(append(line, '\n')); err != nil {
		s.warnings.warn(s.log, "write unlock response failed because the client has gone",
			"code", resp.Code, "err", err)
	}
}

// handle reads and carries out one request. It never logs the request
// line, which contains the secret.
func handle(ctx context.Context, conn io.Reader, h Handler, logger *slog.Logger) Response {
	line, err := readLine(conn, MaxRequestSize)
	defer clear(line)
	return handleLine(ctx, line, err, h, logger)
}

// handleLine carries out the request line that readLine returned with
// readErr.
func handleLine(ctx context.Context, line []byte, readErr error, h Handler,
	logger *slog.Logger) Response {
	if errors.Is(readErr, os.ErrDeadlineExceeded) {
		return errorResponse(&Error{Code: CodeBadRequest, Message: "timed out waiting for " +
			"the request line; send it right after connecting"})
	}
	if readErr != nil {
		return errorResponse(&Error{Code: CodeBadRequest, Message: "invalid request: " + readErr.Error()})
	}

	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return errorResponse(&Error{Code: CodeBadRequest,
			Message: "request is not a valid JSON object: " + jsonErrorText(err)})
	}
	defer clear(req.Secret)
	if dec.More() {
		return errorResponse(&Error{Code: CodeBadRequest,
			Message: "request line contains more than one JSON value"})
	}
	if req.VM == "" {
		return errorResponse(&Error{Code: CodeBadRequest, Message: msgNoVM})
	}

	switch req.Op {
	case OpUnlock:
		return doUnlock(ctx, h, req, logger)
	case OpStatus:
		return doStatus(ctx, h, req, logger)
	}
	return errorResponse(&Error{Code: CodeUnknownOp,
		Message: fmt.Sprintf("unknown op %q; use %q or %q", req.Op, OpUnlock, OpStatus)})
}

// Messages of the bad_request rejections for an empty field, in the words of
// the person who typed it.
const (
	msgNoVM     = "no VM name given"
	msgNoSecret = "no secret typed"
)

func doUnlock(ctx context.Context, h Handler, req Request, logger *slog.Logger) Response {
	if len(req.Secret) == 0 {
		return errorResponse(&Error{Code: CodeBadRequest, Message: msgNoSecret})
	}

	err := h.Unlock(ctx, req.VM, req.Secret)
	if err == nil {
		logger.Info("user unlocked VM", "vm", req.VM)
		return Response{OK: true}
	}

	var rejected *Error
	if errors.As(err, &rejected) {
		logger.Warn("user unlock refused", "vm", req.VM, "code", rejected.Code,
			"attempts_left", rejected.AttemptsLeft)
		return errorResponse(rejected)
	}
	logger.Error("user unlock failed", "vm", req.VM, "err", err)
	return errorResponse(&Error{Code: CodeInternal, Message: "the agent failed to unlock the VM; see its log"})
}

func doStatus(ctx context.Context, h Handler, req Request, logger *slog.Logger) Response {
	st, err := h.Status(ctx, req.VM)
	if err != nil {
		var rejected *Error
		if errors.As(err, &rejected) {
			return errorResponse(rejected)
		}
		logger.Error("read unlock status", "vm", req.VM, "err", err)
		return errorResponse(&Error{Code: CodeInternal, Message: "the agent failed to read the lock status; see its log"})
	}
	return Response{
		OK:           true,
		Locked:       &st.Locked,
		UserUnlock:   &st.UserUnlock,
		AttemptsLeft: &st.AttemptsLeft,
	}
}

func errorResponse(e *Error) Response {
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
// which may contain the secret.
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
	// Unknown fields and invalid base64 end up here. Their messages name
	// the field or the position but not the value.
	return err.Error()
}
