package virmo

import "github.com/virmo/virmo/dmtree"

// MO identifiers and the root segment.
const (
	Root      = "VirMO"
	Type      = "urn:oma:mo:oma-virmo:1.0"
	LAWMOType = "urn:oma:mo:oma-lawmo:1.0"
)

// Names of the VirMO Exec nodes below VirMO/<x>/Operations.
const (
	OpStart  = "Start"
	OpStop   = "Stop"
	OpPause  = "Pause"
	OpResume = "Resume"
	OpLock   = "Lock"
	OpUnlock = "Unlock"
	OpRemove = "Remove"
)

// Names of the LAWMO Exec nodes below VirMO/<x>/DM/LAWMO/Operations, with
// LAWMO's spelling (UnLock with a capital L).
const (
	OpFullyLock     = "FullyLock"
	OpPartiallyLock = "PartiallyLock"
	OpUnLock        = "UnLock"
	OpWipe          = "Wipe"
	OpFactoryReset  = "FactoryReset"
)

// Values of LockParams/State, set only by the client.
const (
	LockStateUnlocked = 0
	LockStateLocked   = 1
)

// Values of DM/LAWMO/State.
const (
	LAWMOFullyLocked     = 10
	LAWMOPartiallyLocked = 20
	LAWMOUnlocked        = 30
)

// AuthTypeDigestSHA256 is the only UnlockAuth/AuthType value: digest =
// SHA-256(secret ‖ AuthData).
const AuthTypeDigestSHA256 = 0

// DefaultMaxUnlockAttempts is the default of Ext/MaxUnlockAttempts.
const DefaultMaxUnlockAttempts = 5

// Paths below VirMO/<x>.
const (
	pathVMID              = "VMID"
	pathName              = "Name"
	pathDescription       = "Description"
	pathState             = "State"
	pathConfig            = "Config"
	pathVCPUs             = "Config/VCPUs"
	pathMemoryMiB         = "Config/MemoryMiB"
	pathImage             = "Config/Image"
	pathAutoStart         = "Config/AutoStart"
	pathOperations        = "Operations"
	pathLockParams        = "LockParams"
	pathLockState         = "LockParams/State"
	pathUserUnlock        = "LockParams/UserUnlock"
	pathUnlockAuth        = "LockParams/UnlockAuth"
	pathAuthType          = "LockParams/UnlockAuth/AuthType"
	pathAuthData          = "LockParams/UnlockAuth/AuthData"
	pathAuthDigest        = "LockParams/UnlockAuth/AuthDigest"
	pathDM                = "DM"
	pathLAWMO             = "DM/LAWMO"
	pathLAWMOState        = "DM/LAWMO/State"
	pathWipeList          = "DM/LAWMO/AvailableWipeList"
	pathLAWMOConfig       = "DM/LAWMO/LAWMOConfig"
	pathNotifyUser        = "DM/LAWMO/LAWMOConfig/NotifyUser"
	pathLAWMOOperations   = "DM/LAWMO/Operations"
	pathExt               = "Ext"
	pathLockGeneration    = "Ext/LockGeneration"
	pathUnlockAttempts    = "Ext/UnlockAttempts"
	pathMaxUnlockAttempts = "Ext/MaxUnlockAttempts"
	pathSingleUseUnlock   = "Ext/SingleUseUnlock"
	pathResumeOnUnlock    = "Ext/ResumeOnUnlock"
)

var (
	virmoOps = []string{OpStart, OpStop, OpPause, OpResume, OpLock, OpUnlock, OpRemove}
	lawmoOps = []string{OpFullyLock, OpPartiallyLock, OpUnLock, OpWipe, OpFactoryReset}
)

const (
	get        = dmtree.AccessGet
	getReplace = dmtree.AccessGet | dmtree.AccessReplace
	one        = dmtree.OccurrenceOne
	zeroOrOne  = dmtree.OccurrenceZeroOrOne
)

func node(name string, access dmtree.AccessType, occ dmtree.Occurrence,
	desc string, children ...*dmtree.NodeDef) *dmtree.NodeDef {
	return &dmtree.NodeDef{
		Name:        name,
		Format:      dmtree.FormatNode,
		Access:      access,
		Occurrence:  occ,
		Scope:       dmtree.ScopeDynamic,
		Description: desc,
		Children:    children,
	}
}

func leaf(name string, format dmtree.Format, access dmtree.AccessType,
	occ dmtree.Occurrence, def, desc string) *dmtree.NodeDef {
	return &dmtree.NodeDef{
		Name:        name,
		Format:      format,
		Access:      access,
		Occurrence:  occ,
		Scope:       dmtree.ScopeDynamic,
		Default:     def,
		Description: desc,
	}
}

func execs(names []string, desc string) []*dmtree.NodeDef {
	defs := make([]*dmtree.NodeDef, 0, len(names))
	for _, name := range names {
		defs = append(defs, leaf(name, dmtree.FormatNull, dmtree.AccessExec, one, "",
			desc+" "+name))
	}
	return defs
}

// unlockAuthDef is the definition of LockParams/UnlockAuth; the change
// request defines it and its children.
func unlockAuthDef() *dmtree.NodeDef {
	return node("UnlockAuth", get|dmtree.AccessAdd|dmtree.AccessDelete, zeroOrOne,
		"Authorization information for the user unlock; must exist while UserUnlock is true",
		leaf("AuthType", dmtree.FormatInt, getReplace, one, "0",
			"0 for DIGEST-SHA256: AuthDigest = SHA-256(secret ‖ AuthData)"),
		leaf("AuthData", dmtree.FormatBin, getReplace, one, "",
			"Authorization data (salt) chosen by the server"),
		leaf("AuthDigest", dmtree.FormatBin, getReplace, one, "",
			"SHA-256(secret ‖ AuthData)"),
	)
}

// lawmoDef is the definition of the per-VM LAWMO at VirMO/<x>/DM/LAWMO.
func lawmoDef() *dmtree.NodeDef {
	lawmo := node("LAWMO", get, one, "Lock and wipe of this VM",
		leaf("State", dmtree.FormatInt, get, one, "30",
			"10 fully locked, 20 partially locked, 30 unlocked"),
		node("AvailableWipeList", get, one,
			"Wipeable data categories; empty, since a wipe resets the whole VM"),
		node("LAWMOConfig", get, zeroOrOne, "LAWMO settings",
			leaf("NotifyUser", dmtree.FormatBool, getReplace, zeroOrOne, "false",
				"Whether the user is told about a lock or wipe"),
		),
		node("Operations", get, one, "LAWMO operations on this VM",
			execs(lawmoOps, "Exec to run the LAWMO operation")...),
	)
	lawmo.Type = LAWMOType
	return lawmo
}

// vmDef is the definition of one VirMO/<x>.
func vmDef() *dmtree.NodeDef {
	lockParams := node("LockParams", get, one, "Lock parameters of the VM",
		leaf("State", dmtree.FormatInt, get, one, "0",
			"0 unlocked, 1 locked; set only by the client"),
		leaf("UserUnlock", dmtree.FormatBool, getReplace, one, "false",
			"Whether the user may unlock the VM with the secret"),
		unlockAuthDef(),
	)

	ext := node("Ext", get, one, "Extensions of this project",
		leaf("LockGeneration", dmtree.FormatInt, get, one, "0",
			"Incremented on every lock"),
		leaf("UnlockAttempts", dmtree.FormatInt, get, one, "0",
			"Failed user unlock attempts since the last success or re-provisioning"),
		leaf("MaxUnlockAttempts", dmtree.FormatInt, getReplace, one, "5",
			"Failed attempts after which the user unlock is rejected"),
		leaf("SingleUseUnlock", dmtree.FormatBool, getReplace, one, "true",
			"Whether a user unlock deletes UnlockAuth and sets UserUnlock false"),
		leaf("ResumeOnUnlock", dmtree.FormatBool, get, one, "false",
			"Whether the VM was running when it was fully locked"),
	)

	vm := node("", get|dmtree.AccessAdd|dmtree.AccessDelete, dmtree.OccurrenceZeroOrMore,
		"One virtual machine; Add creates it from Config, Delete removes it",
		leaf("VMID", dmtree.FormatChr, get, one, "", "Hypervisor-unique id (UUID)"),
		leaf("Name", dmtree.FormatChr, getReplace, zeroOrOne, "", "Display name"),
		leaf("Description", dmtree.FormatChr, getReplace, zeroOrOne, "", "Description"),
		leaf("State", dmtree.FormatInt, get, one, "10",
			"Run state: 10 stopped, 20 running, 30 paused, 50 failed"),
		node("Config", get, one, "Configuration, applied at the next start",
			leaf("VCPUs", dmtree.FormatInt, getReplace, one, "1", "Virtual CPUs"),
			leaf("MemoryMiB", dmtree.FormatInt, getReplace, one, "512", "Memory in MiB"),
			leaf("Image", dmtree.FormatChr, getReplace, zeroOrOne, "", "Image reference"),
			leaf("AutoStart", dmtree.FormatBool, getReplace, one, "false",
				"Whether the VM starts with the host"),
		),
		node("Operations", get, one, "VM operations",
			execs(virmoOps, "Exec to run the operation")...),
		lockParams,
		node("DM", get, one, "Management objects of this VM", lawmoDef()),
		ext,
	)
	return vm
}

// definition returns the definition of ./VirMO.
func definition() *dmtree.NodeDef {
	root := node(Root, get, one, "Virtual machines of this device", vmDef())
	root.Type = Type
	root.Scope = dmtree.ScopePermanent
	return root
}
