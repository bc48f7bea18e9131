package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/virmo/virmo/server/dmsession"
	"github.com/virmo/virmo/store"
)

// vmURI returns the URI of a node below ./VirMO/<vm>.
func vmURI(vm, rel string) string {
	return "./VirMO/" + vm + "/" + rel
}

// operationNodes maps an intent kind to its VirMO/<x>/Operations leaf.
var operationNodes = map[string]string{
	"lock":   "Lock",
	"unlock": "Unlock",
	"start":  "Start",
	"stop":   "Stop",
	"pause":  "Pause",
	"resume": "Resume",
}

func execTemplate(vm, kind, correlator string) dmsession.CommandTemplate {
	return dmsession.CommandTemplate{
		Name:       "Exec",
		Correlator: correlator,
		Items:      []dmsession.ItemTemplate{{Target: vmURI(vm, "Operations/"+operationNodes[kind])}},
	}
}

func replaceTemplate(target, format, data string) dmsession.CommandTemplate {
	return dmsession.CommandTemplate{
		Name:  "Replace",
		Items: []dmsession.ItemTemplate{{Target: target, Format: format, Data: data, HasData: true}},
	}
}

// addUnlockAuthPayload adds the UnlockAuth node; 418 (already exists)
// counts as success.
func addUnlockAuthPayload(vm string) dmsession.Payload {
	return dmsession.Payload{
		Command: dmsession.CommandTemplate{
			Name:  "Add",
			Items: []dmsession.ItemTemplate{{Target: vmURI(vm, "LockParams/UnlockAuth"), Format: "node"}},
		},
		AcceptStatuses: []int{418},
	}
}

// unlockPayload is the Sequence of a server unlock: Exec Operations/Unlock,
// then Replace UserUnlock false.
func unlockPayload(vm, correlator string) dmsession.Payload {
	return dmsession.Payload{Command: dmsession.CommandTemplate{
		Name: "Sequence",
		Commands: []dmsession.CommandTemplate{
			execTemplate(vm, "unlock", correlator),
			replaceTemplate(vmURI(vm, "LockParams/UserUnlock"), "bool", "false"),
		},
	}}
}

// deleteUnlockAuthPayload deletes the UnlockAuth node after a server
// unlock; 404 (the VM was locked without user unlock) counts as success.
func deleteUnlockAuthPayload(vm string) dmsession.Payload {
	return dmsession.Payload{
		Command: dmsession.CommandTemplate{
			Name:  "Delete",
			Items: []dmsession.ItemTemplate{{Target: vmURI(vm, "LockParams/UnlockAuth")}},
		},
		AcceptStatuses: []int{404},
	}
}

// lockPayload is the Sequence of a lock: with user unlock it provisions
// UnlockAuth through the AuthData and AuthDigest placeholders of
// secretID, which the engine fills at send time.
func lockPayload(vm string, userUnlock bool, secretID, correlator string) dmsession.Payload {
	var steps []dmsession.CommandTemplate
	if userUnlock {
		steps = append(steps,
			replaceTemplate(vmURI(vm, "LockParams/UnlockAuth/AuthType"), "int", "0"),
			replaceTemplate(vmURI(vm, "LockParams/UnlockAuth/AuthData"), "b64",
				dmsession.PlaceholderAuthData),
			replaceTemplate(vmURI(vm, "LockParams/UnlockAuth/AuthDigest"), "b64",
				dmsession.PlaceholderAuthDigest),
		)
	}
	steps = append(steps,
		replaceTemplate(vmURI(vm, "LockParams/UserUnlock"), "bool", strconv.FormatBool(userUnlock)),
		execTemplate(vm, "lock", correlator),
	)
	payload := dmsession.Payload{
		Command: dmsession.CommandTemplate{Name: "Sequence", Commands: steps},
	}
	if userUnlock {
		payload.SecretID = secretID
	}
	return payload
}

// correlator returns the Correlator of the Exec queued at seq.
func correlator(seq int64) string {
	return "c" + strconv.FormatInt(seq, 10)
}

// enqueue appends one command of kind dm for an intent.
func (s *Server) enqueue(ctx context.Context, q store.Queries, in store.Intent, p dmsession.Payload) (store.Command, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return store.Command{}, fmt.Errorf("encode command payload: %w", err)
	}
	now := s.nowUTC()
	cmd, err := q.EnqueueCommand(ctx, store.Command{
		DeviceID:  in.DeviceID,
		IntentID:  in.ID,
		Kind:      dmsession.CommandKindDM,
		Payload:   data,
		State:     store.CommandPending,
		CreatedAt: now,
		UpdatedAt: now,
	})
	if err != nil {
		return store.Command{}, fmt.Errorf("enqueue command for intent %s: %w", in.ID, err)
	}
	return cmd, nil
}

// enqueueExec enqueues the command that build returns for a Correlator,
// with the Correlator c<seq> of the command's own Seq. The store assigns
// Seq only on insert and never updates a payload, so enqueueExec predicts
// the Seq. The prediction is next when the caller passes it (the Seq after
// a command queued in the same transaction), else one past the highest
// Seq in the queue. A wrong prediction, after the newest commands were
// pruned, cancels the command and queues it again at the Seq that follows.
func (s *Server) enqueueExec(ctx context.Context, q store.Queries, in store.Intent,
	next int64, build func(correlator string) dmsession.Payload) (store.Command, error) {
	if next == 0 {
		queued, err := q.ListCommands(ctx, in.DeviceID, 0)
		if err != nil {
			return store.Command{}, fmt.Errorf("list commands of %s: %w", in.DeviceID, err)
		}
		next = 1
		if len(queued) > 0 {
			next = queued[len(queued)-1].Seq + 1
		}
	}

	for range 2 {
		cmd, err := s.enqueue(ctx, q, in, build(correlator(next)))
		if err != nil {
			return store.Command{}, err
		}
		if cmd.Seq == next {
			return cmd, nil
		}
		cmd.State = store.CommandCancelled
		cmd.Error = "queued again with the Correlator of its own sequence number"
		cmd.UpdatedAt = s.nowUTC()
		if err := q.UpdateCommand(ctx, cmd); err != nil {
			return store.Command{}, fmt.Errorf("cancel command %d: %w", cmd.Seq, err)
		}
		next = cmd.Seq + 1
	}
	return store.Command{}, fmt.Errorf("enqueue command for intent %s: the store did not "+
		"assign consecutive sequence numbers in one transaction", in.ID)
}

// payloadExec reports whether a payload contains an Exec, whose result
// arrives as an OperationComplete alert.
func payloadExec(data []byte) bool {
	var p dmsession.Payload
	if err := json.Unmarshal(data, &p); err != nil {
		return false
	}
	return templateExec(p.Command)
}

func templateExec(t dmsession.CommandTemplate) bool {
	if t.Name == "Exec" {
		return true
	}
	for _, c := range t.Commands {
		if templateExec(c) {
			return true
		}
	}
	return false
}

// payloadAccepts reports whether the payload lists status as success.
func payloadAccepts(data []byte, status int) bool {
	var p dmsession.Payload
	if err := json.Unmarshal(data, &p); err != nil {
		return false
	}
	for _, accepted := range p.AcceptStatuses {
		if accepted == status {
			return true
		}
	}
	return false
}
