package agent

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/virmo/virmo/dmtree"
	"github.com/virmo/virmo/mo/devdetail"
	"github.com/virmo/virmo/mo/devinfo"
	"github.com/virmo/virmo/mo/dmacc"
	"github.com/virmo/virmo/mo/virmo"
)

// DevInfo and DevDetail values of this client, unless Config.DevInfo
// overrides them.
const (
	defaultMan  = "VirMO"
	defaultMod  = "VirMO Client"
	defaultDmV  = "1.2"
	defaultLang = "en-US"
	// SoftwareVersion is the DevDetail/SwV of the agent.
	SoftwareVersion = "virmo-agent/0.1"
)

// lockFile is the name of the file whose lock one agent process holds on
// its DataDir.
const lockFile = "agent.lock"

// lockDataDir takes an exclusive, non-blocking lock on dataDir, so two
// processes never write one state. The lock ends when the file is closed
// or the process dies.
func lockDataDir(dataDir string) (*os.File, error) {
	path := filepath.Join(dataDir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("agent data directory %s is in use by another process "+
				"(a running agent?); stop it first", dataDir)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// baseTree returns a tree with DevInfo, DevDetail and DMAcc mounted and
// the stored snapshot loaded; extra plugins are mounted before the load.
func baseTree(st *stateStore, persist dmtree.PersistFunc, info devinfo.Info,
	extra ...dmtree.Plugin) (*dmtree.Tree, error) {
	t := dmtree.New(dmtree.Options{Persist: persist})
	plugins := append([]dmtree.Plugin{
		devinfo.New(info),
		devdetail.New(detail()),
		dmacc.New(),
	}, extra...)
	for _, p := range plugins {
		if err := t.Mount(p); err != nil {
			return nil, fmt.Errorf("mount %s: %w", p.Definition().Name, err)
		}
	}

	snap, err := st.snapshot()
	if err != nil {
		return nil, err
	}
	if snap != nil {
		if err := t.Load(snap); err != nil {
			return nil, fmt.Errorf("load the stored management tree: %w", err)
		}
	}
	return t, nil
}

// buildTree builds the agent's tree from the stored snapshot and writes
// the current DevInfo and DevDetail values into it.
func (a *Agent) buildTree() error {
	devID, err := deviceID(a.state, a.cfg.DevInfo.DevID)
	if err != nil {
		return err
	}
	a.info = devInfo(a.cfg.DevInfo, devID)

	// The VirMO MO needs the ServerID of the enrolled server before it is
	// mounted, so read the account from a first, throwaway tree.
	probe, err := baseTree(a.state, nil, a.info)
	if err != nil {
		return err
	}
	var serverID string
	err = probe.View(func(tx *dmtree.Tx) error {
		acc, err := dmacc.Read(tx)
		if err == nil {
			serverID = acc.ServerID
		}
		return nil
	})
	if err != nil {
		return err
	}

	a.mo = virmo.New(a.cfg.Driver, virmo.Options{
		ProvisioningServerID: serverID,
		Logger:               a.log.With("mo", virmo.Root),
	})
	a.tree, err = baseTree(a.state, a.persist, a.info, a.mo)
	if err != nil {
		return err
	}
	a.mo.Attach(a.tree)

	err = a.tree.Update(func(tx *dmtree.Tx) error {
		if err := devinfo.Write(tx, a.info); err != nil {
			return fmt.Errorf("write DevInfo: %w", err)
		}
		if err := devdetail.Write(tx, detail()); err != nil {
			return fmt.Errorf("write DevDetail: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("update the management tree: %w", err)
	}
	return nil
}

// devInfo returns the default DevInfo values with the non-empty fields of
// override applied, and devID as DevId.
func devInfo(override devinfo.Info, devID string) devinfo.Info {
	info := devinfo.Info{
		DevID: devID,
		Man:   defaultMan,
		Mod:   defaultMod,
		DmV:   defaultDmV,
		Lang:  defaultLang,
	}
	if override.Man != "" {
		info.Man = override.Man
	}
	if override.Mod != "" {
		info.Mod = override.Mod
	}
	if override.DmV != "" {
		info.DmV = override.DmV
	}
	if override.Lang != "" {
		info.Lang = override.Lang
	}
	return info
}

// detail returns the DevDetail values of the agent.
func detail() devdetail.Detail {
	return devdetail.Detail{DevTyp: "vm-host", SwV: SoftwareVersion, LrgObj: true}
}

// deviceID returns override when set, else the DevID kept in the state,
// creating a random urn:uuid the first time.
func deviceID(st *stateStore, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	id, ok, err := st.setting(settingDevID)
	if err != nil || ok {
		return id, err
	}
	id = newUUIDURN()
	if err := st.setSetting(settingDevID, id); err != nil {
		return "", err
	}
	return id, nil
}

// newUUIDURN returns a random (version 4) UUID as a urn:uuid URI.
func newUUIDURN() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
