package notification

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Notification versions are 10-bit values, ten times the version number.
const (
	// VersionDM12 is the version value OMA DM 1.2 clients send and expect:
	// binary 0000001011.
	VersionDM12 = 11

	// MinVersion and MaxVersion bound the versions Decode and Encode accept.
	// NOTE: the value a DM 1.3 server writes is not confirmed, so versions up
	// to 13 are accepted as the same format.
	MinVersion = VersionDM12
	MaxVersion = 13
)

// UI modes of a trigger: what the client shows the user before the session.
const (
	UIModeNotSpecified = 0
	UIModeBackground   = 1
	UIModeInformative  = 2
	UIModeUser         = 3 // the user must confirm the session
)

// Initiators of a trigger.
const (
	InitiatorClient = 0 // the user asked for the session
	InitiatorServer = 1
)

// Sizes of the fixed parts of a message, in bytes.
const (
	DigestSize = 16
	headerSize = 8

	// MinSize is the length of a message with an empty server identifier and
	// no vendor bytes.
	MinSize = DigestSize + headerSize

	// MaxServerIDLen is the longest server identifier the 8-bit length
	// field can describe.
	MaxServerIDLen = 255
)

// Bit layout of the 64-bit header that follows the digest.
const (
	versionShift   = 54
	uiModeShift    = 52
	initiatorShift = 51
	sessionShift   = 8
	reservedMask   = uint64(1<<27-1) << 24
)

// ErrMalformed is returned, wrapped, for a message or trigger that does not
// follow the Package #0 format.
var ErrMalformed = errors.New("malformed notification")

// Trigger is the content of a Package #0 message after the digest.
type Trigger struct {
	Version   int    // 10 bits, MinVersion to MaxVersion
	UIMode    int    // UIModeNotSpecified to UIModeUser
	Initiator int    // InitiatorClient or InitiatorServer
	SessionID uint16 // becomes the SyncML SessionID, see SessionIDString
	ServerID  string // DMAcc ServerID, 1 to 255 bytes
	Vendor    []byte // vendor-specific trigger body, nil when absent
}

// Validate reports the first field of t that cannot be encoded, wrapping
// ErrMalformed.
func (t Trigger) Validate() error {
	switch {
	case t.Version < MinVersion || t.Version > MaxVersion:
		return fmt.Errorf("%w: version %d outside %d to %d",
			ErrMalformed, t.Version, MinVersion, MaxVersion)
	case t.UIMode < UIModeNotSpecified || t.UIMode > UIModeUser:
		return fmt.Errorf("%w: UI mode %d outside 0 to 3", ErrMalformed, t.UIMode)
	case t.Initiator != InitiatorClient && t.Initiator != InitiatorServer:
		return fmt.Errorf("%w: initiator %d is neither 0 nor 1", ErrMalformed, t.Initiator)
	case t.ServerID == "":
		return fmt.Errorf("%w: missing server identifier", ErrMalformed)
	case len(t.ServerID) > MaxServerIDLen:
		return fmt.Errorf("%w: server identifier of %d bytes exceeds %d",
			ErrMalformed, len(t.ServerID), MaxServerIDLen)
	}
	return nil
}

// MarshalBinary returns the trigger bytes that follow the digest: header,
// server identifier and vendor bytes. It fails when Validate does.
func (t Trigger) MarshalBinary() ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}

	header := uint64(t.Version)<<versionShift |
		uint64(t.UIMode)<<uiModeShift |
		uint64(t.Initiator)<<initiatorShift |
		uint64(t.SessionID)<<sessionShift |
		uint64(len(t.ServerID))

	b := make([]byte, 0, headerSize+len(t.ServerID)+len(t.Vendor))
	b = binary.BigEndian.AppendUint64(b, header)
	b = append(b, t.ServerID...)
	b = append(b, t.Vendor...)
	return b, nil
}

// Encode returns the Package #0 message for t, with the digest keyed by
// serverID, serverPassword and nonce. When t.ServerID is empty, serverID is
// written into the message. When both are set they must be equal, because
// the client computes the digest from the server identifier in the message.
func Encode(t Trigger, serverID, serverPassword string, nonce []byte) ([]byte, error) {
	if t.ServerID == "" {
		t.ServerID = serverID
	}
	if t.ServerID != serverID {
		return nil, fmt.Errorf("encode notification: trigger server identifier %q differs from %q",
			t.ServerID, serverID)
	}

	trigger, err := t.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode notification: %w", err)
	}

	d := digest(serverID, serverPassword, nonce, trigger)
	return append(d[:], trigger...), nil
}

// Decode splits a Package #0 message into its trigger and digest. It does
// not verify the digest: call Verify for that. Decode fails, wrapping
// ErrMalformed, when the message is shorter than MinSize, the server
// identifier is empty or runs past the end, any reserved header bit is set,
// or the version is outside MinVersion to MaxVersion. Vendor aliases no
// part of b.
func Decode(b []byte) (t Trigger, digest [DigestSize]byte, err error) {
	if len(b) < MinSize {
		return Trigger{}, digest, fmt.Errorf("decode notification: %w: %d bytes, want at least %d",
			ErrMalformed, len(b), MinSize)
	}

	header := binary.BigEndian.Uint64(b[DigestSize:MinSize])
	if header&reservedMask != 0 {
		return Trigger{}, digest, fmt.Errorf("decode notification: %w: reserved header bits set",
			ErrMalformed)
	}

	t.Version = int(header >> versionShift)
	if t.Version < MinVersion || t.Version > MaxVersion {
		return Trigger{}, digest, fmt.Errorf("decode notification: %w: version %d outside %d to %d",
			ErrMalformed, t.Version, MinVersion, MaxVersion)
	}
	t.UIMode = int(header>>uiModeShift) & 0x3
	t.Initiator = int(header>>initiatorShift) & 0x1
	t.SessionID = uint16(header >> sessionShift)

	idLen := int(header & 0xff)
	body := b[MinSize:]
	if idLen == 0 {
		return Trigger{}, digest, fmt.Errorf("decode notification: %w: missing server identifier",
			ErrMalformed)
	}
	if idLen > len(body) {
		return Trigger{}, digest, fmt.Errorf(
			"decode notification: %w: server identifier of %d bytes, only %d follow the header",
			ErrMalformed, idLen, len(body))
	}
	t.ServerID = string(body[:idLen])
	if len(body) > idLen {
		t.Vendor = append([]byte(nil), body[idLen:]...)
	}

	copy(digest[:], b[:DigestSize])
	return t, digest, nil
}
