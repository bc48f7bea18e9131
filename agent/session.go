package agent

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/mo/dmacc"
	"github.com/virmo/virmo/syncml"
)

// maxSessionMessages bounds the messages the agent sends in one session, so
// a server that never ends a session cannot hold the agent in it.
const maxSessionMessages = 64

// ErrNotEnrolled is returned by a session when the tree contains no DM
// account: run "virmo agent enroll" first.
var ErrNotEnrolled = errors.New("agent: no DM account is provisioned; " +
	"enroll the device first (virmo agent enroll)")

// errServerAuth is returned when the server's credentials did not match.
var errServerAuth = errors.New("server credentials are missing or invalid")

// session is one client DM session with the server of the account.
type session struct {
	a         *Agent
	acc       dmacc.Account
	id        string
	alertCode int
	url       string
	// auth is the account's credential type: AuthMD5, AuthHMAC or
	// AuthBasic.
	auth string

	// msgID is the MsgID of our last message.
	msgID int
	// sendCred is true until the server returns 212 for our SyncHdr, and
	// while it is true every message carries our credentials.
	sendCred bool
	// prevServerNonce is the server nonce we replaced in this session. The
	// server may still use it in the message that crosses our change.
	prevServerNonce []byte
	// alertsByMsg maps our MsgID and CmdID to the queue seq of the alert
	// that command carried. alertsSent contains every seq sent this session.
	alertsByMsg map[string]map[string]int64
	alertsSent  map[int64]bool

	acked int

	// object is the large object being received in chunks, nil when none.
	object *largeObject
	// outbound is the Results object being sent in chunks, nil when none.
	outbound *outboundObject
	// peerMaxMsgSize and peerMaxObjSize are the server's limits from its
	// SyncHdr Meta, 0 until it sends them.
	peerMaxMsgSize int
	peerMaxObjSize int
}

// runSession opens a session with the server of the account, announcing it
// with alertCode (1201 client-initiated, 1200 after a notification), and
// runs it to its end.
func (a *Agent) runSession(ctx context.Context, alertCode int) error {
	return a.runSessionWithID(ctx, alertCode, "")
}

// runSessionWithID runs a session like runSession with the given
// SessionID, the one a Package #0 named. An empty sessionID means the next
// of the agent's own sequence.
func (a *Agent) runSessionWithID(ctx context.Context, alertCode int, sessionID string) error {
	acc, auth, err := a.sessionAccount()
	if err != nil {
		return err
	}

	seq, err := a.state.nextSessionSeq()
	if err != nil {
		return err
	}
	s := &session{
		a:           a,
		acc:         acc,
		id:          cmp.Or(sessionID, strings.ToUpper(strconv.FormatUint(seq, 16))),
		alertCode:   alertCode,
		url:         acc.ServerURL,
		auth:        auth,
		sendCred:    true,
		alertsByMsg: map[string]map[string]int64{},
		alertsSent:  map[int64]bool{},
	}

	log := a.log.With("session", s.id, "server", acc.ServerID)
	log.Info("DM session started", "url", acc.ServerURL)
	err = s.run(ctx)
	if err != nil {
		log.Warn("DM session failed", "messages", s.msgID, "alerts_acknowledged", s.acked,
			"err", err)
		return err
	}
	log.Info("DM session ended", "messages", s.msgID, "alerts_acknowledged", s.acked)
	return nil
}

func (s *session) run(ctx context.Context) error {
	out, err := s.package1()
	if err != nil {
		return err
	}
	in, err := s.exchange(ctx, out)
	if err != nil {
		return err
	}

	retried := false
	for {
		s.takePeerLimits(in.msg)
		serverOK := s.verifyServer(in)
		hs := findHeaderStatus(in.msg, strconv.Itoa(s.msgID))
		if hs == nil {
			return fmt.Errorf("server message %s has no Status for our SyncHdr", in.msg.Header.MsgID)
		}
		code := statusCode(hs)
		nextNonce, err := s.challengeNonce(hs)
		if err != nil {
			return err
		}

		// A challenge: resend Package 1 once, with the new nonce. The
		// nonce is stored only when the server proved who it is.
		if code == syncml.StatusInvalidCredentials || code == syncml.StatusMissingCredentials {
			if retried {
				return fmt.Errorf("server rejected the client credentials twice (status %d); "+
					"re-enroll the device if its account was reset", code)
			}
			if nextNonce == nil && s.auth != AuthBasic {
				return fmt.Errorf("server rejected the client credentials (status %d) "+
					"without a new nonce", code)
			}
			retried = true
			if nextNonce != nil {
				s.acc.ClientNonce = nextNonce
			}
			if serverOK && nextNonce != nil {
				if err := s.storeClientNonce(nextNonce); err != nil {
					return err
				}
			}
			if out, err = s.package1(); err != nil {
				return err
			}
			if in, err = s.exchange(ctx, out); err != nil {
				return err
			}
			continue
		}

		if !serverOK {
			s.rejectServer(ctx, in.msg)
			return errServerAuth
		}
		if nextNonce != nil {
			if err := s.storeClientNonce(nextNonce); err != nil {
				return err
			}
			s.acc.ClientNonce = nextNonce
		}
		switch code {
		case syncml.StatusAuthAccepted:
			s.sendCred = false
		case syncml.StatusOK:
			s.sendCred = true
		default:
			return fmt.Errorf("server returned status %d for our SyncHdr", code)
		}

		if err := s.applyStatuses(in.msg); err != nil {
			return err
		}
		responses, abort := s.execute(ctx, in.msg)
		if abort {
			s.a.log.Info("server aborted the DM session", "session", s.id)
			return nil
		}

		// A message that needs no response ends the session, because the
		// client must not send a message with only the SyncHdr Status.
		if len(responses) == 0 && in.msg.Body.Final && s.outbound == nil {
			return nil
		}
		if limit := s.a.messageLimit() + s.sendLimit(); s.msgID >= limit {
			return fmt.Errorf("session exceeded %d messages; ending it", limit)
		}
		if out, err = s.reply(in.msg, responses); err != nil {
			return err
		}
		if in, err = s.exchange(ctx, out); err != nil {
			return err
		}
	}
}

// sessionAccount reads the DM account and its credential type, and checks
// that a session with it can work: a valid server URL, the configured auth
// type, and https for basic. It returns ErrNotEnrolled without an account.
func (a *Agent) sessionAccount() (dmacc.Account, string, error) {
	var acc dmacc.Account
	var auth string
	err := a.tree.View(func(tx *dmtree.Tx) error {
		var err error
		if acc, err = dmacc.Read(tx); err != nil {
			return err
		}
		auth, err = accountAuth(tx)
		return err
	})
	if errors.Is(err, dmacc.ErrNoAccount) {
		return acc, "", ErrNotEnrolled
	}
	if err != nil {
		return acc, "", fmt.Errorf("read DM account: %w", err)
	}
	if err := checkServerURL(acc.ServerURL); err != nil {
		return acc, "", err
	}
	if a.cfg.Auth != "" && a.cfg.Auth != auth {
		return acc, "", fmt.Errorf("configured auth type %s differs from %s of the DM account; "+
			"enroll again with auth %s or configure %s", a.cfg.Auth, auth, a.cfg.Auth, auth)
	}
	if auth == AuthBasic {
		if err := checkBasicURL(acc.ServerURL); err != nil {
			return acc, "", err
		}
	}
	return acc, auth, nil
}

// package1 builds Package 1: the session Alert, the DevInfo Replace and
// every queued alert.
func (s *session) package1() (*outgoing, error) {
	s.msgID++
	out := newOutgoing(s.header())
	out.add(sessionAlert(s.alertCode))
	out.add(s.a.devInfoWithNotify(devInfoReplace(s.a.info)))
	if err := s.addQueuedAlerts(out, true); err != nil {
		return nil, err
	}
	return out, nil
}

// reply builds the reply to the server message in. It contains the Status
// for its SyncHdr with a fresh server nonce (none under basic), the
// responses to its commands and the alerts queued since the last message.
// When the reply would exceed the server's MaxMsgSize, it also contains the
// next chunk of the largest Results.
func (s *session) reply(in *syncml.Message, responses []syncml.Command) (*outgoing, error) {
	nonce, err := s.newServerNonce()
	if err != nil {
		return nil, err
	}
	s.checkChunkStatus(in)

	s.msgID++
	out, err := s.replyCommands(in, responses, nonce)
	if err != nil {
		return nil, err
	}
	if s.outbound == nil && !s.fitsPeer(out) {
		if i := largestResults(responses); i >= 0 {
			s.startOutbound(responses[i])
			rest := append(responses[:i:i], responses[i+1:]...)
			if out, err = s.replyCommands(in, rest, nonce); err != nil {
				return nil, err
			}
		}
	}
	if s.outbound != nil {
		s.addChunk(out)
	}

	switch {
	case s.outbound != nil:
		// Our package continues. The server returns 213 for the chunk
		// and requests the next message with Alert 1222.
		out.more = true
	case !in.Body.Final && !requestsNextMessage(in):
		// The server's package continues in its next message.
		out.add(sessionAlert(syncml.AlertNextMessage))
		out.more = true
	}
	return out, nil
}

// replyCommands returns a reply that contains the SyncHdr Status, the
// responses and the queued alerts.
func (s *session) replyCommands(in *syncml.Message, responses []syncml.Command,
	nonce []byte) (*outgoing, error) {
	out := newOutgoing(s.header())
	code := syncml.StatusAuthAccepted
	if s.auth == AuthHMAC {
		// A MAC authenticates one message only.
		code = syncml.StatusOK
	}
	out.add(headerStatus(in, code, s.serverChal(nonce)))
	for _, c := range responses {
		out.add(c)
	}
	if err := s.addQueuedAlerts(out, false); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *session) header() syncml.Header {
	var cred *syncml.Cred
	if s.sendCred {
		cred = s.clientCred()
	}
	h := clientHeader(s.id, s.msgID, s.acc.ServerURL, s.a.info.DevID, s.acc.ClientUser, cred)
	h.Meta = s.a.sizeMeta()
	return h
}

// addQueuedAlerts adds the queued alerts to out. With again true it adds
// every queued alert, as Package 1 (also when resent) must. With again
// false it skips the alerts already sent in this session.
func (s *session) addQueuedAlerts(out *outgoing, again bool) error {
	pending, err := s.a.state.pendingAlerts()
	if err != nil {
		return err
	}
	for _, q := range pending {
		if !again && s.alertsSent[q.Seq] {
			continue
		}
		out.addAlert(q)
	}
	return nil
}

// rejectServer responds to a server message whose credentials failed with
// Status 401 and a fresh nonce. It ignores the server's reply, because the
// session ends either way.
func (s *session) rejectServer(ctx context.Context, in *syncml.Message) {
	log := s.a.log.With("session", s.id, "server", s.acc.ServerID)
	log.Warn("server credentials invalid, so the agent rejects the message", "msg", in.Header.MsgID)

	nonce, err := s.newServerNonce()
	if err != nil {
		log.Error("issue a new server nonce", "err", err)
		return
	}
	s.msgID++
	out := newOutgoing(s.header())
	out.add(headerStatus(in, syncml.StatusInvalidCredentials, s.serverChal(nonce)))
	if _, err := s.exchange(ctx, out); err != nil {
		log.Warn("send rejection of server credentials", "err", err)
	}
}

// newServerNonce creates and stores a nonce for the server's next
// credentials. It is durable before it is sent. Under basic it returns nil
// and keeps the stored nonce, because the basic Chal carries no NextNonce.
// The server then keeps keying Package #0 with the nonce it already has.
func (s *session) newServerNonce() ([]byte, error) {
	if s.auth == AuthBasic {
		return nil, nil
	}
	nonce := dmauth.NewNonce()
	err := s.a.tree.Update(func(tx *dmtree.Tx) error {
		return dmacc.SetServerNonce(tx, nonce)
	})
	if err != nil {
		return nil, fmt.Errorf("store server nonce: %w", err)
	}
	s.a.rememberServerNonce(s.acc.ServerNonce)
	s.prevServerNonce = s.acc.ServerNonce
	s.acc.ServerNonce = nonce
	return nonce, nil
}

func (s *session) storeClientNonce(nonce []byte) error {
	err := s.a.tree.Update(func(tx *dmtree.Tx) error {
		return dmacc.SetClientNonce(tx, nonce)
	})
	if err != nil {
		return fmt.Errorf("store client nonce: %w", err)
	}
	return nil
}

// challengeNonce returns the NextNonce of the Chal in a Status, nil when
// there is none. A Chal of another type than the account's fails, because
// the credential type is fixed at enrollment.
func (s *session) challengeNonce(st *syncml.Command) ([]byte, error) {
	if st.Chal == nil || st.Chal.Meta == nil {
		return nil, nil
	}
	meta := st.Chal.Meta
	if meta.Type != "" && !strings.EqualFold(meta.Type, s.wireAuthType()) {
		return nil, fmt.Errorf("server challenged with %s, but the DM account uses %s; "+
			"enroll the device again with the server's auth type", meta.Type, s.wireAuthType())
	}
	if meta.NextNonce == "" {
		return nil, nil
	}
	if meta.Format != "" && meta.Format != "b64" {
		return []byte(meta.NextNonce), nil
	}
	nonce, err := base64.StdEncoding.DecodeString(strings.TrimSpace(meta.NextNonce))
	if err != nil {
		return nil, fmt.Errorf("server sent a NextNonce that is not valid base64")
	}
	return nonce, nil
}

// applyStatuses deletes from the queue every alert the server returned
// 200 or 202 for, matching each Status by (MsgRef, CmdRef).
func (s *session) applyStatuses(in *syncml.Message) error {
	for _, c := range in.Body.Commands {
		if c.Name != syncml.CmdStatus || c.CmdRef == "0" {
			continue
		}
		msgRef := c.MsgRef
		if msgRef == "" {
			msgRef = strconv.Itoa(s.msgID)
		}
		seq, ok := s.alertsByMsg[msgRef][c.CmdRef]
		if !ok {
			continue
		}
		code := statusCode(&c)
		if code != syncml.StatusOK && code != syncml.StatusAccepted {
			s.a.log.Warn("server rejected an alert, so it stays queued", "session", s.id,
				"cmd", c.CmdRef, "status", c.Data)
			continue
		}
		if err := s.a.state.ackAlert(seq); err != nil {
			return err
		}
		delete(s.alertsByMsg[msgRef], c.CmdRef)
		s.acked++
	}
	return nil
}

// execute runs the server's commands on the tree and returns the Status
// and Results commands that respond to them. abort is true when the server
// sent a Session Abort alert.
func (s *session) execute(ctx context.Context, in *syncml.Message) (responses []syncml.Command, abort bool) {
	ds := dmtree.Session{ServerID: s.acc.ServerID, MsgRef: in.Header.MsgID}
	for _, c := range in.Body.Commands {
		switch c.Name {
		case syncml.CmdStatus, syncml.CmdResults:
			continue
		case syncml.CmdAlert:
			if c.Data == strconv.Itoa(syncml.AlertSessionAbort) {
				return nil, true
			}
		}
		responses = append(responses, s.executeCommand(ctx, ds, c)...)
	}
	return append(responses, s.endObjectMessage(in)...), false
}
