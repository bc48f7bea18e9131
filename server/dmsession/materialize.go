package dmsession

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/virmo/virmo/store"
	"github.com/virmo/virmo/syncml"
)

// payloadError is a queued command that can never be sent: a wrong kind, a
// payload that does not decode or describes no valid DM command, or a
// secret that is gone. The command fails with this message.
type payloadError struct{ msg string }

func (e *payloadError) Error() string { return e.msg }

func badPayload(format string, args ...any) error {
	return &payloadError{msg: fmt.Sprintf(format, args...)}
}

// Commands a queued payload may hold at the top of the body and inside
// each container.
var (
	topLevelCommands = map[string]bool{
		syncml.CmdAdd: true, syncml.CmdReplace: true, syncml.CmdDelete: true,
		syncml.CmdExec: true, syncml.CmdGet: true, syncml.CmdSequence: true,
		syncml.CmdAtomic: true,
	}
	containerChildren = map[string]map[string]bool{
		syncml.CmdSequence: {syncml.CmdAdd: true, syncml.CmdReplace: true,
			syncml.CmdDelete: true, syncml.CmdExec: true, syncml.CmdGet: true},
		syncml.CmdAtomic: {syncml.CmdAdd: true, syncml.CmdReplace: true,
			syncml.CmdDelete: true},
	}
)

// builder turns one queued command into a syncml.Command numbered for the
// reply being built.
type builder struct {
	t       *turn
	seq     int64
	payload Payload
	parts   []commandPart
	// authData and digest are the unlock material of payload.SecretID,
	// fetched on the first placeholder. They live only in the reply.
	authData, digest []byte
	authLoaded       bool
}

// materialize builds the DM command of a queued command and records each
// of its CmdIDs, so that a Status for that CmdID finds the command.
func (t *turn) materialize(cmd store.Command) (syncml.Command, *sentCommand, error) {
	if cmd.Kind != CommandKindDM {
		return syncml.Command{}, nil, badPayload("command kind %q is not %q",
			cmd.Kind, CommandKindDM)
	}
	b := &builder{t: t, seq: cmd.Seq}
	if err := json.Unmarshal(cmd.Payload, &b.payload); err != nil {
		return syncml.Command{}, nil, badPayload("payload is not valid JSON: %v", err)
	}
	c, err := b.command(b.payload.Command, "")
	if err != nil {
		return syncml.Command{}, nil, err
	}

	msgID := strconv.Itoa(t.st.ServerMsgID)
	for _, p := range b.parts {
		t.st.Refs[refKey(msgID, p.CmdID)] = sentRef{Kind: refCommand, Seq: cmd.Seq}
	}
	sc := &sentCommand{MsgID: msgID, Parts: b.parts, Accept: b.payload.AcceptStatuses}
	return c, sc, nil
}

func (b *builder) command(tpl CommandTemplate, parent string) (syncml.Command, error) {
	allowed := topLevelCommands
	if parent != "" {
		allowed = containerChildren[parent]
	}
	if !allowed[tpl.Name] {
		if parent == "" {
			return syncml.Command{}, badPayload("command %q cannot be queued", tpl.Name)
		}
		return syncml.Command{}, badPayload("command %q is not allowed in %s",
			tpl.Name, parent)
	}

	c := syncml.Command{Name: tpl.Name, CmdID: b.t.nextCmdID()}
	b.parts = append(b.parts, commandPart{CmdID: c.CmdID, Name: c.Name})

	if _, container := containerChildren[tpl.Name]; container {
		if len(tpl.Commands) == 0 || len(tpl.Items) != 0 {
			return syncml.Command{}, badPayload("%s needs commands and no items", tpl.Name)
		}
		for _, child := range tpl.Commands {
			cc, err := b.command(child, tpl.Name)
			if err != nil {
				return syncml.Command{}, err
			}
			c.Commands = append(c.Commands, cc)
		}
		return c, nil
	}

	switch {
	case len(tpl.Commands) != 0:
		return syncml.Command{}, badPayload("%s cannot hold commands", tpl.Name)
	case len(tpl.Items) == 0:
		return syncml.Command{}, badPayload("%s needs at least one item", tpl.Name)
	case tpl.Name == syncml.CmdExec && len(tpl.Items) != 1:
		return syncml.Command{}, badPayload("Exec needs exactly one item, got %d",
			len(tpl.Items))
	}
	if tpl.Name == syncml.CmdExec {
		c.Correlator = tpl.Correlator
		if c.Correlator == "" {
			c.Correlator = "c" + strconv.FormatInt(b.seq, 10)
		}
	}
	for _, itpl := range tpl.Items {
		it, err := b.item(itpl)
		if err != nil {
			return syncml.Command{}, err
		}
		c.Items = append(c.Items, it)
	}
	return c, nil
}

func (b *builder) item(tpl ItemTemplate) (syncml.Item, error) {
	if tpl.Target == "" {
		return syncml.Item{}, badPayload("item has no target")
	}
	it := syncml.Item{Target: &syncml.Locator{LocURI: tpl.Target}}
	if tpl.Format != "" || tpl.Type != "" {
		it.Meta = &syncml.Meta{Format: tpl.Format, Type: tpl.Type}
	}
	// An Item with Meta Format must carry Data, even an empty one.
	if !tpl.HasData && tpl.Data == "" && tpl.Format == "" {
		return it, nil
	}
	value, err := b.fill(tpl.Data)
	if err != nil {
		return syncml.Item{}, err
	}
	it.Data = syncml.NewData(value)
	return it, nil
}

// fill replaces a placeholder with the base64 AuthData or AuthDigest of the
// payload's secret. Other data is sent as it is.
func (b *builder) fill(data string) (string, error) {
	if data != PlaceholderAuthData && data != PlaceholderAuthDigest {
		return data, nil
	}
	if b.payload.SecretID == "" {
		return "", badPayload("item data %s needs a secret_id", data)
	}
	if !b.authLoaded {
		authData, digest, err := b.t.e.cfg.Hooks.UnlockAuth(b.t.ctx, b.payload.SecretID)
		if err != nil {
			b.t.e.log.Warn("unlock secret unavailable", "device", b.t.device.ID,
				"cmd", b.seq, "secret_id", b.payload.SecretID, "err", err)
			return "", badPayload("unlock secret %s is unavailable", b.payload.SecretID)
		}
		b.authData, b.digest, b.authLoaded = authData, digest, true
	}
	if data == PlaceholderAuthData {
		return base64.StdEncoding.EncodeToString(b.authData), nil
	}
	return base64.StdEncoding.EncodeToString(b.digest), nil
}
