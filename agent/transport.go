package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/virmo/virmo/syncml"
)

// maxMessageSize is the largest server message the agent reads, also sent
// as our MaxMsgSize.
const maxMessageSize = syncml.DefaultMaxMessageSize

// messageTimeout bounds one HTTP exchange: sending a message and reading
// the server's reply.
const messageTimeout = 60 * time.Second

// exchange sends out and returns the server's reply. It records which
// alerts out carried, so their Statuses can be matched later.
func (s *session) exchange(ctx context.Context, out *outgoing) (*reply, error) {
	// A Next Message request (Alert 1222) carries no Final.
	out.msg.Body.Final = !out.more
	body, contentType, err := encodeMessage(s.a.cfg.Encoding, &out.msg)
	if err != nil {
		return nil, fmt.Errorf("encode message %d: %w", s.msgID, err)
	}
	// NOTE: reply splits only a Results with one Item to fit the server's
	// MaxMsgSize. Any other message too large for the server is sent whole.

	msgID := out.msg.Header.MsgID
	s.alertsByMsg[msgID] = out.alerts
	for _, seq := range out.alerts {
		s.alertsSent[seq] = true
	}

	r, err := s.a.post(ctx, s.url, contentType, body, s.signature(body))
	if err != nil {
		return nil, err
	}
	in, err := decodeMessage(r.contentType, r.body)
	if err != nil {
		return nil, fmt.Errorf("decode server reply to message %s: %w", msgID, err)
	}

	if in.Header.SessionID != s.id {
		return nil, fmt.Errorf("server reply has SessionID %q, expected %q",
			in.Header.SessionID, s.id)
	}
	switch in.Header.VerProto {
	case syncml.VerProtoDM12, syncml.VerProtoDM13:
	default:
		return nil, fmt.Errorf("server reply has VerProto %q; expected %s or %s",
			in.Header.VerProto, syncml.VerProtoDM12, syncml.VerProtoDM13)
	}
	if in.Header.RespURI != "" {
		if err := checkServerURL(in.Header.RespURI); err != nil {
			return nil, fmt.Errorf("server RespURI: %w", err)
		}
		s.url = in.Header.RespURI
	}
	return &reply{msg: in, body: r.body, hmac: r.hmac}, nil
}

// httpReply is the HTTP side of a server reply.
type httpReply struct {
	body        []byte
	contentType string
	hmac        string
}

// post sends one message of the given content type to url, with the
// x-syncml-hmac header mac unless it is empty, and returns the reply.
func (a *Agent) post(ctx context.Context, url, contentType string, body []byte,
	mac string) (*httpReply, error) {
	ctx, cancel := context.WithTimeout(ctx, messageTimeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", contentType)
	req.Header.Set("Cache-Control", "no-store")
	if mac != "" {
		req.Header.Set(headerHMAC, mac)
	}

	resp, err := a.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("send DM message: %w", err)
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("server %s returned HTTP %s", url, resp.Status)
	}

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMessageSize+1))
	if err != nil {
		return nil, fmt.Errorf("read reply from %s: %w", url, err)
	}
	if len(data) > maxMessageSize {
		return nil, fmt.Errorf("reply from %s is larger than %d bytes", url, maxMessageSize)
	}
	return &httpReply{
		body:        data,
		contentType: resp.Header.Get("Content-Type"),
		hmac:        resp.Header.Get(headerHMAC),
	}, nil
}

// checkServerURL accepts only absolute http and https URLs.
func checkServerURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid server URL %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid server URL %q: use an absolute http or https URL", raw)
	}
	return nil
}
