package unlock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// clientTimeout bounds a client call when ctx has no earlier deadline. It
// is well above the server's ConnTimeout, so the server replies to or drops
// a request before its client gives up on it.
const clientTimeout = 30 * time.Second

// Waits between two tries of a request that the agent rejected with
// CodeBusy: the first wait, doubled per try up to the maximum.
const (
	busyRetryMin = 100 * time.Millisecond
	busyRetryMax = time.Second
)

// Unlock sends the agent listening at socketPath a request to unlock vm
// with secret, the exact bytes the user typed. It returns nil on success,
// an *Error when the agent rejected the request, and another error when the
// agent could not be reached or sent something other than a response line.
func Unlock(ctx context.Context, socketPath, vm string, secret []byte) error {
	_, err := call(ctx, socketPath, Request{Op: OpUnlock, VM: vm, Secret: secret})
	return err
}

// GetStatus requests the lock status of vm from the agent listening at
// socketPath. Errors are as for Unlock.
func GetStatus(ctx context.Context, socketPath, vm string) (Status, error) {
	resp, err := call(ctx, socketPath, Request{Op: OpStatus, VM: vm})
	if err != nil {
		return Status{}, err
	}
	if resp.Locked == nil || resp.UserUnlock == nil || resp.AttemptsLeft == nil {
		return Status{}, fmt.Errorf("status response from %s lacks a field", socketPath)
	}
	return Status{
		Locked:       *resp.Locked,
		UserUnlock:   *resp.UserUnlock,
		AttemptsLeft: *resp.AttemptsLeft,
	}, nil
}

// call sends req and returns the response, trying again while the agent
// replies CodeBusy, which it sends without reading the request.
func call(ctx context.Context, socketPath string, req Request) (Response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, clientTimeout)
		defer cancel()
	}

	wait := busyRetryMin
	for {
		resp, err := callOnce(ctx, socketPath, req)
		var refused *Error
		if !errors.As(err, &refused) || refused.Code != CodeBusy {
			return resp, err
		}

		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, fmt.Errorf("the agent's unlock socket %s stayed busy: %w", socketPath, err)
		case <-t.C:
		}
		wait = min(2*wait, busyRetryMax)
	}
}

// callOnce sends req on one connection and reads the response.
func callOnce(ctx context.Context, socketPath string, req Request) (Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return Response{}, fmt.Errorf("connect to the agent's unlock socket: %w "+
			"(is the agent running, and may this user open the socket?)", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	line, err := json.Marshal(req)
	if err != nil {
		return Response{}, fmt.Errorf("encode unlock request: %w", err)
	}
	_, writeErr := conn.Write(append(line, '\n'))
	clear(line)

	// A busy agent may close the connection before reading the request,
	// so a failed write is reported only when no response follows.
	answer, err := readLine(conn, maxResponseSize)
	if err != nil && writeErr != nil {
		return Response{}, fmt.Errorf("send request to %s: %w", socketPath, writeErr)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return Response{}, fmt.Errorf("no response from the agent at %s (%v): the request "+
			"may still have been carried out, so check the VM's lock status before you retry",
			socketPath, context.Cause(ctx))
	}
	if err != nil {
		return Response{}, fmt.Errorf("read response from %s: %w", socketPath, err)
	}
	var resp Response
	if err := json.Unmarshal(answer, &resp); err != nil {
		return Response{}, fmt.Errorf("invalid response from %s: %s", socketPath, jsonErrorText(err))
	}
	if !resp.OK {
		e := &Error{Code: resp.Code, Message: resp.Error}
		if resp.AttemptsLeft != nil {
			e.AttemptsLeft = *resp.AttemptsLeft
		}
		if e.Code == "" {
			e.Code = CodeInternal
		}
		return resp, e
	}
	return resp, nil
}
