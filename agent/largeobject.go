package agent

import (
	"context"
	"strconv"
	"strings"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/syncml"
)

// Defaults of Config.MaxMsgSize and Config.MaxObjSize, in bytes.
const (
	DefaultMaxMsgSize = 64 << 10
	DefaultMaxObjSize = 4 << 20
)

// largeObject is a command whose Item the server sends in chunks. The
// chunks' wire text is joined as it arrives; base64 is decoded once, by the
// tree, after the last chunk.
type largeObject struct {
	// first is the command of the first chunk; its Item gives Meta,
	// Target and Source to the reassembled command.
	first syncml.Command
	total int
	data  strings.Builder
}

// sizeMeta returns the SyncHdr Meta that advertises the agent's limits.
func (a *Agent) sizeMeta() *syncml.Meta {
	return &syncml.Meta{
		MaxMsgSize: strconv.Itoa(a.cfg.MaxMsgSize),
		MaxObjSize: strconv.Itoa(a.cfg.MaxObjSize),
	}
}

// messageLimit returns the messages the agent sends in one session:
// maxSessionMessages plus room for one object of MaxObjSize in chunks
// that fill at least half of MaxMsgSize each.
func (a *Agent) messageLimit() int {
	return maxSessionMessages + a.cfg.MaxObjSize/max(a.cfg.MaxMsgSize/2, 1)
}

// executeCommand runs one server command, reassembling large objects: a
// chunk with MoreData gets 213, the last chunk runs the whole command, and
// any other command before the last chunk drops the object with Alert 1225
// before it runs itself.
func (s *session) executeCommand(ctx context.Context, ds dmtree.Session,
	c syncml.Command) []syncml.Command {
	var answers []syncml.Command
	if s.object != nil && !s.continuesObject(c) && !isNextMessageAlert(c) {
		answers = append(answers, s.dropObject("the server sent another command"))
	}
	if s.object == nil && !hasMoreData(c) {
		return append(answers, s.limitGetResults(c, s.a.tree.Execute(ctx, ds, c))...)
	}
	return append(answers, s.takeChunk(ctx, ds, c)...)
}

// endObjectMessage drops a large object still open when the server ends
// its package, since its last chunk can no longer come.
func (s *session) endObjectMessage(in *syncml.Message) []syncml.Command {
	if s.object == nil || !in.Body.Final {
		return nil
	}
	return []syncml.Command{s.dropObject("the server ended its package before the last chunk")}
}

// takeChunk adds one chunk to the large object and returns its Status, or
// the answers of the reassembled command after the last chunk.
func (s *session) takeChunk(ctx context.Context, ds dmtree.Session,
	c syncml.Command) []syncml.Command {
	status := func(code int) []syncml.Command {
		return []syncml.Command{chunkStatus(ds.MsgRef, c, code)}
	}
	if !chunkableCommand(c) {
		// A container or a command with several Items must fit one
		// message, so it is rejected whole rather than run truncated.
		s.object = nil
		return status(syncml.StatusBadRequest)
	}
	it := c.Items[0]

	if s.object == nil {
		total, err := strconv.Atoi(metaSize(it.Meta))
		switch {
		case err != nil || total < 0:
			s.a.log.Warn("reject a first chunk without a valid Meta Size", "session", s.id,
				"cmd", c.CmdID)
			return status(syncml.StatusSizeMismatch)
		case total > s.a.cfg.MaxObjSize:
			s.a.log.Warn("reject a large object over MaxObjSize", "session", s.id,
				"size", total, "max_obj_size", s.a.cfg.MaxObjSize)
			return status(syncml.StatusEntityTooLarge)
		}
		s.object = &largeObject{first: c, total: total}
	}

	obj := s.object
	obj.data.WriteString(it.Data.Value)
	if obj.data.Len() > obj.total || (!it.MoreData && obj.data.Len() != obj.total) {
		s.a.log.Warn("drop a large object whose size differs from its Meta Size",
			"session", s.id, "received", obj.data.Len(), "size", obj.total)
		s.object = nil
		return status(syncml.StatusSizeMismatch)
	}
	if it.MoreData {
		return status(syncml.StatusChunkAccepted)
	}

	s.object = nil
	whole := c
	item := obj.first.Items[0]
	if item.Meta != nil {
		meta := *item.Meta
		meta.Size = ""
		item.Meta = &meta
	}
	item.Data = &syncml.Data{Value: obj.data.String()}
	item.MoreData = false
	whole.Items = []syncml.Item{item}
	return s.a.tree.Execute(ctx, ds, whole)
}

// continuesObject reports whether c is the next chunk of the open large
// object: the same command on the same target.
func (s *session) continuesObject(c syncml.Command) bool {
	first := s.object.first
	return c.Name == first.Name && len(c.Items) == 1 &&
		locURI(c.Items[0].Target) == locURI(first.Items[0].Target)
}

// dropObject drops the open large object and returns the Alert 1225 (no
// end of data) that names its Target and Source.
func (s *session) dropObject(reason string) syncml.Command {
	it := s.object.first.Items[0]
	s.a.log.Warn("drop an incomplete large object", "session", s.id,
		"target", locURI(it.Target), "received", s.object.data.Len(), "size", s.object.total,
		"reason", reason)
	s.object = nil
	return syncml.Command{
		Name:  syncml.CmdAlert,
		Data:  strconv.Itoa(syncml.AlertNoEndOfData),
		Items: []syncml.Item{{Target: it.Target, Source: it.Source}},
	}
}

func chunkStatus(msgRef string, c syncml.Command, code int) syncml.Command {
	st := syncml.NewStatus(msgRef, c.CmdID, c.Name, code)
	if len(c.Items) == 1 && c.Items[0].Target != nil {
		st.TargetRefs = []string{c.Items[0].Target.LocURI}
	}
	return st
}

// chunkableCommand reports whether c may carry a large object: an Add,
// Replace or Exec with one Item that has Data.
func chunkableCommand(c syncml.Command) bool {
	switch c.Name {
	case syncml.CmdAdd, syncml.CmdReplace, syncml.CmdExec:
		return len(c.Items) == 1 && c.Items[0].Data != nil
	}
	return false
}

// hasMoreData reports whether any Item of c or of its children has
// MoreData.
func hasMoreData(c syncml.Command) bool {
	for _, it := range c.Items {
		if it.MoreData {
			return true
		}
	}
	for _, child := range c.Commands {
		if hasMoreData(child) {
			return true
		}
	}
	return false
}

func isNextMessageAlert(c syncml.Command) bool {
	return c.Name == syncml.CmdAlert && c.Data == strconv.Itoa(syncml.AlertNextMessage)
}

func metaSize(m *syncml.Meta) string {
	if m == nil {
		return ""
	}
	return m.Size
}

func locURI(l *syncml.Locator) string {
	if l == nil {
		return ""
	}
	return l.LocURI
}
