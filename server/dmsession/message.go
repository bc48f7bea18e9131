package dmsession

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
)

// turn is the handling of one client message: everything it reads and
// changes, inside one store transaction.
type turn struct {
	e   *Engine
	ctx context.Context
	q   store.Queries
	in  *syncml.Message
	now time.Time
	// req is the HTTP side of the message: its exact body, its
	// x-syncml-hmac header and whether it came over TLS.
	req request
	// encode is the codec of the request, used for the reply.
	encode func(*syncml.Message) ([]byte, error)
	// replyMAC is the x-syncml-hmac header of the reply, empty unless the
	// device uses syncml:auth-MAC.
	replyMAC string

	device        store.Device
	deviceChanged bool
	// devInfoFresh is set once this message replaced the stored DevInfo.
	devInfoFresh bool
	st           *sessionState
	// prevServerMsgID is the MsgID of the server message this one replies
	// to, the MsgRef of a Status that omits MsgRef.
	prevServerMsgID string
	// touched lists the queued commands that got a Status or Results in
	// this message, in arrival order.
	touched []int64
	aborted bool

	// out holds the reply's commands: Statuses first, then server commands.
	out     []syncml.Command
	lastID  int
	noFinal bool

	// Counts and outcome for the log line. outcomeErr explains the
	// outcome and must not contain secrets.
	outcome    string
	outcomeErr error
	authCode   int
	statusIn   int
	sentCount  int
}

// request is the part of the HTTP request the engine needs besides the
// decoded message.
type request struct {
	// body is the exact request body, which the resend hash and the MAC
	// cover.
	body       []byte
	hmacHeader string
	tls        bool
}

// hash returns the SHA-256 that identifies a resend: of the exact body,
// and of the x-syncml-hmac header after it when there is one, so the same
// body signed anew is handled as a new message.
func (r request) hash() [sha256.Size]byte {
	if r.hmacHeader == "" {
		return sha256.Sum256(r.body)
	}
	h := sha256.New()
	h.Write(r.body)
	h.Write([]byte{0})
	h.Write([]byte(r.hmacHeader))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// handle runs one decoded message through the session in one store
// transaction and returns the encoded reply and its x-syncml-hmac header
// (empty unless the device uses syncml:auth-MAC).
func (e *Engine) handle(ctx context.Context, msg *syncml.Message, req request,
	encode func(*syncml.Message) ([]byte, error)) ([]byte, string, error) {
	var reply []byte
	var t *turn
	err := e.cfg.Store.InTx(ctx, func(q store.Queries) error {
		t = &turn{e: e, ctx: ctx, q: q, in: msg, now: e.cfg.Now().UTC(), req: req,
			encode: encode}
		var err error
		reply, err = t.run()
		return err
	})
	if err != nil {
		return nil, "", err
	}
	t.logMessage()
	return reply, t.replyMAC, nil
}

func (t *turn) run() ([]byte, error) {
	h := &t.in.Header
	dev, err := t.q.GetDeviceByDevID(t.ctx, h.Source.LocURI)
	if errors.Is(err, store.ErrNotFound) {
		// An unknown DevID gets the reply a known device gets for missing
		// or wrong credentials, so the reply does not tell which DevIDs
		// are enrolled. Its nonce is random and never stored.
		t.outcome = "unknown device"
		code, chal := t.decoyChallenge()
		t.reject(code, chal)
		return t.encode(t.reply(nil, "1"))
	}
	if err != nil {
		return nil, fmt.Errorf("look up device %q: %w", h.Source.LocURI, err)
	}
	t.device = dev

	st, err := t.loadState()
	if err != nil {
		return nil, err
	}
	hash := t.req.hash()
	if st != nil && st.LastMsgID == h.MsgID && bytes.Equal(st.RequestHash, hash[:]) {
		t.outcome = "resend"
		return t.storedReply(st)
	}
	restart, err := t.restartsNotified(st)
	if err != nil {
		return nil, err
	}
	if st == nil || st.Ended || restart {
		st = newSessionState()
	}
	t.st = st
	t.prevServerMsgID = strconv.Itoa(st.ServerMsgID)
	st.ServerMsgID++

	// A signed message is authenticated before this check (in converse),
	// so a replayed earlier message gets 401 from its stale MAC.
	if st.handled(h.MsgID) && t.req.hmacHeader == "" {
		// A different body under a MsgID already handled gets 400 and
		// changes nothing, so a true resend of the last message still gets
		// the stored reply.
		t.outcome = "duplicate msg id"
		t.appendStatus(t.headerStatus(syncml.StatusBadRequest, nil))
		return t.encodeReply()
	}
	if h.VerProto != syncml.VerProtoDM12 && h.VerProto != syncml.VerProtoDM13 {
		t.outcome = "unsupported protocol"
		t.reject(syncml.StatusProtocolUnsupported, nil)
		return t.encodeReply()
	}

	if err := t.converse(); err != nil {
		return nil, err
	}

	// The device may have sent a new server nonce in this message, so the
	// server credentials are made after converse.
	reply, err := t.encodeReply()
	if err != nil {
		return nil, err
	}
	if err := t.save(hash[:], reply); err != nil {
		return nil, err
	}
	return reply, nil
}

// encodeReply encodes the reply with the server credentials of the
// device's credential type: a Cred in the SyncHdr, or for syncml:auth-MAC
// the x-syncml-hmac header over the encoded bytes.
//
// Only a reply to an authenticated message carries them: a 401, 407 or
// any reply sent before authentication has no server Cred and no MAC, so
// an unauthenticated peer cannot collect server credentials.
func (t *turn) encodeReply() ([]byte, error) {
	authenticated := t.authCode == syncml.StatusAuthAccepted || t.authCode == syncml.StatusOK
	var cred *syncml.Cred
	if authenticated {
		var err error
		if cred, err = t.serverCred(); err != nil {
			return nil, err
		}
	}
	reply, err := t.encode(t.reply(cred, strconv.Itoa(t.st.ServerMsgID)))
	if err != nil {
		return nil, fmt.Errorf("encode reply: %w", err)
	}
	if authenticated && t.accountAuth() == store.AuthHMAC {
		if t.replyMAC, err = t.signReply(reply); err != nil {
			return nil, err
		}
	}
	return reply, nil
}

// storedReply returns the reply stored for the last message of st and sets
// its MAC header, for a byte-identical resend.
func (t *turn) storedReply(st *sessionState) ([]byte, error) {
	sid := t.in.Header.SessionID
	reply, err := t.e.cfg.Sealer.Open(st.ReplySealed)
	if err != nil {
		return nil, fmt.Errorf("open stored reply of session %q: %w", sid, err)
	}
	if len(st.ReplyMACSealed) > 0 {
		mac, err := t.e.cfg.Sealer.Open(st.ReplyMACSealed)
		if err != nil {
			return nil, fmt.Errorf("open stored reply MAC of session %q: %w", sid, err)
		}
		t.replyMAC = string(mac)
	}
	return reply, nil
}

// converse authenticates the message and, when that succeeds, handles its
// commands and picks what the server sends next.
func (t *turn) converse() error {
	code, chal, err := t.authenticate()
	if err != nil {
		return err
	}
	t.authCode = code
	// 200 is success under syncml:auth-MAC, which authenticates one
	// message at a time.
	if code != syncml.StatusAuthAccepted && code != syncml.StatusOK {
		if t.outcome == "" {
			t.outcome = "auth failed"
		}
		t.reject(code, chal)
		return nil
	}

	if t.st.handled(t.in.Header.MsgID) {
		// Only a signed message gets here, as run explains.
		t.outcome = "duplicate msg id"
		t.appendStatus(t.headerStatus(syncml.StatusBadRequest, chal))
		return nil
	}
	t.appendStatus(t.headerStatus(code, chal))
	t.st.HandledMsgIDs = append(t.st.HandledMsgIDs, t.in.Header.MsgID)
	t.takePeerLimits()
	if err := t.handleCommands(); err != nil {
		return err
	}
	return t.planNext()
}

// reject gives the SyncHdr and every command other than Status and
// Results a Status with code, the reply a failed authentication requires.
// chal, if any, goes on the SyncHdr Status.
func (t *turn) reject(code int, chal *syncml.Chal) {
	t.authCode = code
	t.appendStatus(t.headerStatus(code, chal))
	for i := range t.in.Body.Commands {
		c := &t.in.Body.Commands[i]
		if c.Name == syncml.CmdStatus || c.Name == syncml.CmdResults {
			continue
		}
		t.addStatus(c, code)
	}
}

func (t *turn) headerStatus(code int, chal *syncml.Chal) syncml.Command {
	h := &t.in.Header
	s := syncml.NewStatus(h.MsgID, "0", syncml.CmdSyncHdr, code)
	if h.Target.LocURI != "" {
		s.TargetRefs = []string{h.Target.LocURI}
	}
	if h.Source.LocURI != "" {
		s.SourceRefs = []string{h.Source.LocURI}
	}
	s.Chal = chal
	return s
}

// addStatus adds a Status with code for the client command c. A command without
// CmdID cannot be referenced, so it gets no Status.
func (t *turn) addStatus(c *syncml.Command, code int) {
	if c.CmdID == "" {
		t.e.log.Warn("ignore command without CmdID", "devid", t.in.Header.Source.LocURI,
			"session", t.in.Header.SessionID, "cmd", c.Name)
		return
	}
	t.appendStatus(syncml.NewStatus(t.in.Header.MsgID, c.CmdID, c.Name, code))
}

// appendStatus numbers s and adds it to the reply. Every Status is added
// before the first server command, so CmdIDs follow document order.
func (t *turn) appendStatus(s syncml.Command) {
	s.CmdID = t.nextCmdID()
	t.out = append(t.out, s)
}

// nextCmdID numbers the commands of the reply from 1, children included.
func (t *turn) nextCmdID() string {
	t.lastID++
	return strconv.Itoa(t.lastID)
}

// reply builds the server message from t.out.
func (t *turn) reply(cred *syncml.Cred, msgID string) *syncml.Message {
	h := &t.in.Header
	m := &syncml.Message{
		Header: syncml.Header{
			VerDTD:    syncml.VerDTD12,
			VerProto:  syncml.VerProtoDM12,
			SessionID: h.SessionID,
			MsgID:     msgID,
			Target:    syncml.Locator{LocURI: h.Source.LocURI},
			Source:    syncml.Locator{LocURI: t.e.cfg.ServerURL},
			Cred:      cred,
			Meta:      t.sizeMeta(),
		},
		Body: syncml.Body{Commands: t.out, Final: !t.noFinal},
	}
	if cred != nil {
		m.Header.Source.LocName = t.serverUser()
	}
	return m
}

func (t *turn) loadState() (*sessionState, error) {
	row, err := t.q.GetSession(t.ctx, t.device.ID, t.in.Header.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session %q: %w", t.in.Header.SessionID, err)
	}
	st, err := decodeState(row.State)
	if err != nil {
		// A row this engine cannot read starts the session afresh. That
		// costs an authentication but never misreads the statuses and
		// results of earlier commands.
		t.e.log.Warn("start session afresh", "device", t.device.ID,
			"session", t.in.Header.SessionID, "err", err)
		return nil, nil
	}
	return st, nil
}

// save stores the session state with the sealed reply and the device row
// changes of this message.
func (t *turn) save(requestHash, reply []byte) error {
	sealed, err := t.e.cfg.Sealer.Seal(reply)
	if err != nil {
		return fmt.Errorf("seal reply: %w", err)
	}
	t.st.LastMsgID = t.in.Header.MsgID
	t.st.RequestHash = requestHash
	t.st.ReplySealed = sealed
	t.st.ReplyMACSealed = nil
	if t.replyMAC != "" {
		if t.st.ReplyMACSealed, err = t.e.cfg.Sealer.Seal([]byte(t.replyMAC)); err != nil {
			return fmt.Errorf("seal reply MAC: %w", err)
		}
	}
	state, err := json.Marshal(t.st)
	if err != nil {
		return fmt.Errorf("encode session state: %w", err)
	}
	err = t.q.PutSession(t.ctx, store.Session{
		DeviceID:  t.device.ID,
		SessionID: t.in.Header.SessionID,
		State:     state,
		UpdatedAt: t.now,
	})
	if err != nil {
		return fmt.Errorf("store session %q: %w", t.in.Header.SessionID, err)
	}

	if !t.deviceChanged && !t.st.Authenticated {
		return nil
	}
	// Re-read the row so a hook's change to it is kept. Only the fields
	// this engine owns are written.
	d, err := t.q.GetDevice(t.ctx, t.device.ID)
	if err != nil {
		return fmt.Errorf("reload device %s: %w", t.device.ID, err)
	}
	d.ClientNonce = t.device.ClientNonce
	d.ServerNonce = t.device.ServerNonce
	d.DevInfo = t.device.DevInfo
	if t.st.Authenticated {
		d.LastSeen = t.now
	}
	if err := t.q.UpdateDevice(t.ctx, d); err != nil {
		return fmt.Errorf("update device %s: %w", t.device.ID, err)
	}
	return nil
}

// logMessage writes the one log line of a message. It never logs a
// credential, nonce or command data.
func (t *turn) logMessage() {
	h := &t.in.Header
	attrs := []any{
		"device", t.device.ID,
		"devid", h.Source.LocURI,
		"session", h.SessionID,
		"msg", h.MsgID,
		"auth", t.authCode,
		"commands_in", len(t.in.Body.Commands),
		"statuses_in", t.statusIn,
		"commands_sent", t.sentCount,
	}
	if t.st != nil {
		attrs = append(attrs, "phase", t.st.Phase, "ended", t.st.Ended)
	}
	if t.outcome != "" {
		attrs = append(attrs, "outcome", t.outcome)
	}
	if t.outcomeErr != nil {
		attrs = append(attrs, "err", t.outcomeErr.Error())
	}
	t.e.log.Info("dm message", attrs...)
}
