package dmsession

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
)

// DefaultMaxAttempts is how many times the engine sends a queued command
// that gets no Status before it marks the command failed.
const DefaultMaxAttempts = 5

// Sealer opens the sealed device passwords of store.Device and seals the
// reply the engine keeps for a resent message. *seal.Sealer implements it.
type Sealer interface {
	Open(sealed []byte) ([]byte, error)
	Seal(plain []byte) ([]byte, error)
}

// Config configures an Engine. Store, Hooks, Sealer and ServerURL are
// required.
type Config struct {
	Store  store.Store
	Hooks  Hooks
	Sealer Sealer
	// ServerURL is the URL of the /dm endpoint, sent as the Source LocURI of
	// every server message.
	ServerURL string
	// ServerID is the server user of the server credentials when a device
	// row has no ServerID of its own.
	ServerID string
	// Logger receives one line per message; nil means slog.Default().
	Logger *slog.Logger
	// MaxAttempts is how many times a queued command is sent without a
	// Status before it fails. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// MaxMsgSize and MaxObjSize, in bytes, are the largest message and the
	// largest object the server accepts, advertised in the Meta of every
	// server SyncHdr. Zero means DefaultMaxMsgSize and DefaultMaxObjSize.
	MaxMsgSize int
	MaxObjSize int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Engine serves OMA DM sessions. It keeps no state of its own between
// requests: every message is handled in one store transaction, so several
// engines on one store can continue each other's sessions.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	codecs map[string]codec
	// locks serialises the messages of one session within this process.
	locks *sessionLocks
}

// codec turns a message body of one content type into a Message and back.
type codec struct {
	decode func([]byte) (*syncml.Message, error)
	encode func(*syncml.Message) ([]byte, error)
}

// New returns an Engine for cfg, filling the defaults of the optional
// fields.
func New(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxMsgSize <= 0 {
		cfg.MaxMsgSize = DefaultMaxMsgSize
	}
	if cfg.MaxObjSize <= 0 {
		cfg.MaxObjSize = DefaultMaxObjSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Engine{
		cfg:    cfg,
		log:    cfg.Logger,
		codecs: defaultCodecs(),
		locks:  newSessionLocks(),
	}
}

// ServeHTTP handles one message of a DM session: a POST whose body is a
// SyncML message. The reply has the request's content type.
//
// HTTP errors are for transport problems only:
//   - 405 for a method other than POST;
//   - 415 for a content type without a codec (a body without
//     Content-Type is sniffed: WBXML when it starts like WBXML SyncML,
//     otherwise XML);
//   - 413 for a body larger than syncml.DefaultMaxMessageSize;
//   - 400 for a body that does not decode, or lacks SessionID, MsgID or
//     Source LocURI;
//   - 500 when the store or a hook fails. Nothing of the message is
//     applied then, so the device can resend it.
//
// Protocol problems get OMA status codes inside a 200 reply.
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: send the SyncML message with POST",
			http.StatusMethodNotAllowed)
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, syncml.DefaultMaxMessageSize))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("message too large: the limit is %d bytes; send "+
				"smaller messages, splitting large items into large objects",
				syncml.DefaultMaxMessageSize), http.StatusRequestEntityTooLarge)
			return
		}
		e.log.Warn("read dm request body", "remote", r.RemoteAddr, "err", err)
		http.Error(w, "read request body failed", http.StatusBadRequest)
		return
	}

	mediaType, err := requestMediaType(r.Header.Get("Content-Type"), body)
	c, ok := e.codecs[mediaType]
	if err != nil || !ok {
		http.Error(w, "unsupported content type: send "+syncml.ContentTypeXML+" or "+
			syncml.ContentTypeWBXML, http.StatusUnsupportedMediaType)
		return
	}

	msg, err := c.decode(body)
	if err != nil {
		e.log.Warn("decode dm message", "remote", r.RemoteAddr, "err", err)
		http.Error(w, "message does not decode as SyncML: "+err.Error()+
			encodingHint(mediaType, body), http.StatusBadRequest)
		return
	}
	if msg.Header.SessionID == "" || msg.Header.MsgID == "" || msg.Header.Source.LocURI == "" {
		// Without these the reply cannot name its session or its device.
		http.Error(w, "SyncHdr lacks SessionID, MsgID or Source LocURI", http.StatusBadRequest)
		return
	}

	req := request{
		body:       body,
		hmacHeader: r.Header.Get(HeaderHMAC),
		tls:        r.TLS != nil,
	}
	reply, mac, err := e.handleSerialised(r.Context(), msg, req, c.encode)
	if err != nil {
		e.log.Error("handle dm message", "session", msg.Header.SessionID,
			"msg", msg.Header.MsgID, "err", err)
		http.Error(w, "internal error; resend the message", http.StatusInternalServerError)
		return
	}

	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Cache-Control", "no-store")
	if mac != "" {
		w.Header().Set(HeaderHMAC, mac)
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, bytes.NewReader(reply)); err != nil {
		e.log.Warn("write dm reply", "session", msg.Header.SessionID, "err", err)
	}
}
