package virmo

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/hypervisor"
	"github.com/virmo/virmo/hypervisor/sim"
	"github.com/virmo/virmo/syncml"
)

const (
	provServer  = "virmo-server"
	otherServer = "other-server"
)

// commit is one call of the PersistFunc: a snapshot and its alerts.
type commit struct {
	snapshot []byte
	alerts   []dmtree.Alert
}

// harness is a tree with a VirMO mounted on a sim driver, recording every
// persisted commit.
type harness struct {
	t       *testing.T
	dir     string
	drv     *sim.Driver
	mo      *MO
	tree    *dmtree.Tree
	mu      sync.Mutex
	commits []commit
	failing bool
}

// newHarness creates the VMs on a fresh sim driver (running when the
// state says so) and syncs the tree.
func newHarness(t *testing.T, vms map[string]hypervisor.RunState) *harness {
	t.Helper()
	dir := t.TempDir()
	drv, err := sim.Open(dir)
	if err != nil {
		t.Fatalf("sim.Open: %v", err)
	}
	t.Cleanup(func() { drv.Close() })

	ctx := context.Background()
	for name, state := range vms {
		if _, err := drv.Create(ctx, name, hypervisor.Config{VCPUs: 2, MemoryMiB: 1024}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if state != hypervisor.StateStopped {
			if err := drv.SetState(name, state); err != nil {
				t.Fatalf("set state of %s: %v", name, err)
			}
		}
	}

	h := &harness{t: t, dir: dir, drv: drv}
	h.mount(nil)
	if err := h.mo.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return h
}

// mount builds a new tree and MO on the same driver, loading snapshot when
// it is not nil, as an agent does after a restart.
func (h *harness) mount(snapshot []byte) {
	h.t.Helper()
	h.tree = dmtree.New(dmtree.Options{Persist: h.persist})
	h.mo = New(h.drv, Options{ProvisioningServerID: provServer})
	if err := h.tree.Mount(h.mo); err != nil {
		h.t.Fatalf("Mount: %v", err)
	}
	if snapshot != nil {
		if err := h.tree.Load(snapshot); err != nil {
			h.t.Fatalf("Load: %v", err)
		}
	}
	h.mo.Attach(h.tree)
}

func (h *harness) persist(snapshot []byte, alerts []dmtree.Alert) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing {
		return errPersist
	}
	h.commits = append(h.commits, commit{snapshot: snapshot, alerts: alerts})
	return nil
}

var errPersist = errors.New("persist failed")

func (h *harness) lastCommit() commit {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.commits) == 0 {
		h.t.Fatal("no commit was persisted")
	}
	return h.commits[len(h.commits)-1]
}

// alerts returns every alert persisted so far, in order.
func (h *harness) alerts() []dmtree.Alert {
	h.mu.Lock()
	defer h.mu.Unlock()
	var all []dmtree.Alert
	for _, c := range h.commits {
		all = append(all, c.alerts...)
	}
	return all
}

// run executes cmd as server and returns the status codes of the answer,
// in order (Results are skipped).
func (h *harness) run(server string, cmd syncml.Command) []int {
	h.t.Helper()
	out := h.tree.Execute(context.Background(),
		dmtree.Session{ServerID: server, MsgRef: "1"}, cmd)
	var codes []int
	for _, c := range out {
		if c.Name != syncml.CmdStatus {
			continue
		}
		n, err := strconv.Atoi(c.Data)
		if err != nil {
			h.t.Fatalf("status %q is not a number", c.Data)
		}
		codes = append(codes, n)
	}
	return codes
}

// get returns the status of a Get of uri as server and the value it read.
func (h *harness) get(server, uri string) (int, string) {
	h.t.Helper()
	out := h.tree.Execute(context.Background(),
		dmtree.Session{ServerID: server, MsgRef: "1"}, getCmd(uri))
	code, value := 0, ""
	for _, c := range out {
		switch c.Name {
		case syncml.CmdStatus:
			code, _ = strconv.Atoi(c.Data)
		case syncml.CmdResults:
			if len(c.Items) > 0 && c.Items[0].Data != nil {
				value = c.Items[0].Data.Value
			}
		}
	}
	return code, value
}

// value reads a leaf below VirMO/<vm> in a local view.
func (h *harness) value(vm, path string) string {
	h.t.Helper()
	var v []byte
	err := h.tree.View(func(tx *dmtree.Tx) error {
		var err error
		v, err = tx.Value(Root + "/" + vm + "/" + path)
		return err
	})
	if err != nil {
		h.t.Fatalf("read %s/%s: %v", vm, path, err)
	}
	return string(v)
}

func (h *harness) exists(vm, path string) bool {
	err := h.tree.View(func(tx *dmtree.Tx) error {
		_, err := tx.Node(Root + "/" + vm + "/" + path)
		return err
	})
	return err == nil
}

func (h *harness) vmState(name string) hypervisor.RunState {
	h.t.Helper()
	vm, err := h.drv.Get(context.Background(), name)
	if err != nil {
		h.t.Fatalf("get VM %s: %v", name, err)
	}
	return vm.State
}

var cmdSeq int

func nextID() string {
	cmdSeq++
	return strconv.Itoa(cmdSeq)
}

func item(uri, format, data string) syncml.Item {
	it := syncml.Item{Target: &syncml.Locator{LocURI: uri}}
	if format != "" {
		it.Meta = &syncml.Meta{Format: format}
	}
	it.Data = syncml.NewData(data)
	return it
}

func replaceCmd(uri, format, data string) syncml.Command {
	return syncml.Command{Name: syncml.CmdReplace, CmdID: nextID(),
		Items: []syncml.Item{item(uri, format, data)}}
}

func addNodeCmd(uri string) syncml.Command {
	it := syncml.Item{Target: &syncml.Locator{LocURI: uri},
		Meta: &syncml.Meta{Format: "node"}}
	return syncml.Command{Name: syncml.CmdAdd, CmdID: nextID(), Items: []syncml.Item{it}}
}

func deleteCmd(uri string) syncml.Command {
	it := syncml.Item{Target: &syncml.Locator{LocURI: uri}}
	return syncml.Command{Name: syncml.CmdDelete, CmdID: nextID(), Items: []syncml.Item{it}}
}

func getCmd(uri string) syncml.Command {
	it := syncml.Item{Target: &syncml.Locator{LocURI: uri}}
	return syncml.Command{Name: syncml.CmdGet, CmdID: nextID(), Items: []syncml.Item{it}}
}

func execCmd(uri, correlator string) syncml.Command {
	it := syncml.Item{Target: &syncml.Locator{LocURI: uri}}
	return syncml.Command{Name: syncml.CmdExec, CmdID: nextID(), Correlator: correlator,
		Items: []syncml.Item{it}}
}

func sequence(cmds ...syncml.Command) syncml.Command {
	return syncml.Command{Name: syncml.CmdSequence, CmdID: nextID(), Commands: cmds}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// Test vector of the change request's digest rule.
var (
	vectorSecret   = []byte("1234")
	vectorAuthData = []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	vectorDigestHex = "d70037724193e2138473267f7a7d3e6708cb3e083f3cecc64d0f0e7e4f8353de"
)

// lockWithUserUnlock runs the two commands docs/wire.md gives for a lock
// with user unlock and returns the status codes of the Sequence.
func (h *harness) lockWithUserUnlock(vm string, secret []byte, correlator string) []int {
	h.t.Helper()
	base := "./VirMO/" + vm + "/LockParams/"
	if codes := h.run(provServer, addNodeCmd(base+"UnlockAuth")); codes[0] != 200 && codes[0] != 418 {
		h.t.Fatalf("Add UnlockAuth = %v, want 200 or 418", codes)
	}
	digest := UnlockDigest(secret, vectorAuthData)
	return h.run(provServer, sequence(
		replaceCmd(base+"UnlockAuth/AuthType", "int", "0"),
		replaceCmd(base+"UnlockAuth/AuthData", "b64", b64(vectorAuthData)),
		replaceCmd(base+"UnlockAuth/AuthDigest", "b64", b64(digest)),
		replaceCmd(base+"UserUnlock", "bool", "true"),
		execCmd("./VirMO/"+vm+"/Operations/Lock", correlator),
	))
}
