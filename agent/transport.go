package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
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
func (s *session) exchange(ctx context.Context, out *outgoing) (*syncml.Message, error) {
	out.msg.Body.Final = true
	body, err := syncml.Encode(&out.msg)
	if err != nil {
		return nil, fmt.Errorf("encode message %d: %w", s.msgID, err)
	}
	// NOTE: the server's MaxMsgSize is not honoured: a message that is too
	// large for the server is sent whole and the server rejects it.

	msgID := out.msg.Header.MsgID
	s.alertsByMsg[msgID] = out.alerts
	for _, seq := range out.alerts {
		s.alertsSent[seq] = true
	}

	data, err := s.a.post(ctx, s.url, body)
	if err != nil {
		return nil, err
	}
	in, err := syncml.Decode(data)
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
	return in, nil
}

// post sends one message to url and returns the body of the reply.
func (a *Agent) post(ctx context.Context, url string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, messageTimeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", syncml.ContentTypeXML)
	req.Header.Set("Accept", syncml.ContentTypeXML)
	req.Header.Set("Cache-Control", "no-store")

	resp, err := a.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("send DM message: %w", err)
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("server %s returned HTTP %s", url, resp.Status)
	}
	mediaType, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mediaType != syncml.ContentTypeXML {
		return nil, fmt.Errorf("server %s replied with content type %q; expected %s",
			url, resp.Header.Get("Content-Type"), syncml.ContentTypeXML)
	}

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMessageSize+1))
	if err != nil {
		return nil, fmt.Errorf("read reply from %s: %w", url, err)
	}
	if len(data) > maxMessageSize {
		return nil, fmt.Errorf("reply from %s is larger than %d bytes", url, maxMessageSize)
	}
	return data, nil
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
