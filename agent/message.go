package agent

import (
	"encoding/base64"
	"strconv"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/mo/devinfo"
	"github.com/virmo/virmo/syncml"
)

// devInfoOrder is the order of the DevInfo leaves in the Package 1
// Replace, the order of the DevInfo DDF.
var devInfoOrder = []string{
	devinfo.LeafDevID, devinfo.LeafMan, devinfo.LeafMod, devinfo.LeafDmV, devinfo.LeafLang,
}

// outgoing is one client message being built: it numbers CmdIDs and
// remembers which queued alert each Alert command carries.
type outgoing struct {
	msg    syncml.Message
	cmdID  int
	alerts map[string]int64 // CmdID → queue seq
	// more is true when the message asks for the server's next message
	// with Alert 1222, so it carries no Final.
	more bool
}

func newOutgoing(hdr syncml.Header) *outgoing {
	return &outgoing{msg: syncml.Message{Header: hdr}, alerts: map[string]int64{}}
}

// add appends cmd with the next CmdID and returns that CmdID.
func (o *outgoing) add(cmd syncml.Command) string {
	o.cmdID++
	cmd.CmdID = strconv.Itoa(o.cmdID)
	o.msg.Body.Commands = append(o.msg.Body.Commands, cmd)
	return cmd.CmdID
}

// addAlert appends a queued alert as a Generic Alert (1226).
func (o *outgoing) addAlert(q queuedAlert) {
	id := o.add(genericAlert(q.Alert))
	o.alerts[id] = q.Seq
}

// clientHeader returns the SyncHdr of a client message. cred is nil when
// the message carries no credentials.
func clientHeader(sessionID string, msgID int, serverURL, devID, user string,
	cred *syncml.Cred) syncml.Header {
	return syncml.Header{
		VerDTD:    syncml.VerDTD12,
		VerProto:  syncml.VerProtoDM12,
		SessionID: sessionID,
		MsgID:     strconv.Itoa(msgID),
		Target:    syncml.Locator{LocURI: serverURL},
		Source:    syncml.Locator{LocURI: devID, LocName: user},
		Cred:      cred,
		Meta:      &syncml.Meta{MaxMsgSize: strconv.Itoa(maxMessageSize)},
	}
}

// md5Cred returns the syncml:auth-md5 Cred element with digest as Data.
func md5Cred(digest string) *syncml.Cred {
	return &syncml.Cred{
		Meta: &syncml.Meta{Type: syncml.AuthMD5, Format: "b64"},
		Data: digest,
	}
}

// md5Chal returns a syncml:auth-md5 challenge carrying nonce.
func md5Chal(nonce []byte) *syncml.Chal {
	return &syncml.Chal{Meta: &syncml.Meta{
		Type:      syncml.AuthMD5,
		Format:    "b64",
		NextNonce: base64.StdEncoding.EncodeToString(nonce),
	}}
}

// sessionAlert returns the Alert that opens a session (1200 or 1201).
func sessionAlert(code int) syncml.Command {
	return syncml.Command{Name: syncml.CmdAlert, Data: strconv.Itoa(code)}
}

// devInfoReplace returns the Replace carrying the DevInfo leaves, one Item
// per leaf with Source LocURI ./DevInfo/<leaf>.
func devInfoReplace(info devinfo.Info) syncml.Command {
	leaves := devinfo.Leaves(info)
	cmd := syncml.Command{Name: syncml.CmdReplace}
	for _, leaf := range devInfoOrder {
		uri := "./" + devinfo.Root + "/" + leaf
		cmd.Items = append(cmd.Items, syncml.Item{
			Source: &syncml.Locator{LocURI: uri},
			Data:   syncml.NewData(leaves[uri]),
		})
	}
	return cmd
}

// genericAlert returns the Generic Alert (1226) that reports a.
func genericAlert(a dmtree.Alert) syncml.Command {
	item := syncml.Item{
		Meta: &syncml.Meta{Type: a.Type, Format: a.Format, Mark: a.Mark},
		Data: syncml.NewData(a.Data),
	}
	if a.Source != "" {
		item.Source = &syncml.Locator{LocURI: a.Source}
	}
	if a.Target != "" {
		item.Target = &syncml.Locator{LocURI: a.Target}
	}
	return syncml.Command{
		Name:       syncml.CmdAlert,
		Data:       strconv.Itoa(syncml.AlertGeneric),
		Correlator: a.Correlator,
		Items:      []syncml.Item{item},
	}
}

// headerStatus returns our Status for the SyncHdr of the server message
// in.
func headerStatus(in *syncml.Message, code int, chal *syncml.Chal) syncml.Command {
	st := syncml.Command{
		Name:   syncml.CmdStatus,
		MsgRef: in.Header.MsgID,
		CmdRef: "0",
		Cmd:    syncml.CmdSyncHdr,
		Chal:   chal,
		Data:   strconv.Itoa(code),
	}
	if in.Header.Target.LocURI != "" {
		st.TargetRefs = []string{in.Header.Target.LocURI}
	}
	if in.Header.Source.LocURI != "" {
		st.SourceRefs = []string{in.Header.Source.LocURI}
	}
	return st
}

// findHeaderStatus returns the Status in m for the SyncHdr of our message
// msgID, or nil. A Status without MsgRef refers to the message the server
// responds to, which is always our last one.
func findHeaderStatus(m *syncml.Message, msgID string) *syncml.Command {
	for i := range m.Body.Commands {
		c := &m.Body.Commands[i]
		if c.Name != syncml.CmdStatus || c.CmdRef != "0" {
			continue
		}
		if c.MsgRef == msgID || c.MsgRef == "" {
			return c
		}
	}
	return nil
}

// statusCode returns the numeric status of a Status command, or 0 when
// its Data is not a number.
func statusCode(c *syncml.Command) int {
	n, err := strconv.Atoi(c.Data)
	if err != nil {
		return 0
	}
	return n
}
