package dmacc

import "github.com/virmo/virmo/dmtree"

const (
	get        = dmtree.AccessGet
	getReplace = dmtree.AccessGet | dmtree.AccessReplace
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
	occ dmtree.Occurrence, desc string) *dmtree.NodeDef {
	return &dmtree.NodeDef{
		Name:        name,
		Format:      format,
		Access:      access,
		Occurrence:  occ,
		Scope:       dmtree.ScopeDynamic,
		Description: desc,
	}
}

// definition is the DM 1.2 DMAcc layout. AAuthSecret and AAuthData have no
// Get access type, so a Get of them is 405 whatever the ACL says.
var definition = func() *dmtree.NodeDef {
	one, zeroOrOne := dmtree.OccurrenceOne, dmtree.OccurrenceZeroOrOne
	many := dmtree.OccurrenceOneOrMore

	account := node("", get|dmtree.AccessReplace|dmtree.AccessDelete,
		dmtree.OccurrenceZeroOrMore, "One account per DM server",
		leaf("AppID", dmtree.FormatChr, get, one, "Application id, w7 for OMA DM"),
		leaf("ServerID", dmtree.FormatChr, get, one, "Server identifier"),
		leaf("Name", dmtree.FormatChr, getReplace, zeroOrOne, "Display name of the server"),
		node("AppAddr", get, one, "Server addresses",
			node("", get, many, "One server address",
				leaf("Addr", dmtree.FormatChr, getReplace, one, "Server URL"),
				leaf("AddrType", dmtree.FormatChr, getReplace, one,
					"Address type, URI"),
			),
		),
		leaf("AAuthPref", dmtree.FormatChr, getReplace, zeroOrOne,
			"Preferred authentication type"),
		node("AppAuth", get, one, "Credentials",
			node("", get, many, "Credentials of one direction",
				leaf("AAuthLevel", dmtree.FormatChr, get, one,
					"CLCRED for the client's credentials, SRVCRED for the server's"),
				leaf("AAuthType", dmtree.FormatChr, getReplace, one,
					"Authentication type"),
				leaf("AAuthName", dmtree.FormatChr, getReplace, zeroOrOne,
					"User name"),
				leaf("AAuthSecret", dmtree.FormatChr, dmtree.AccessReplace, zeroOrOne,
					"Password, never readable"),
				leaf("AAuthData", dmtree.FormatBin, dmtree.AccessReplace, zeroOrOne,
					"Nonce, never readable"),
			),
		),
	)
	account.Type = Type

	root := node(Root, get, one, "DM server accounts", account)
	root.Scope = dmtree.ScopePermanent
	return root
}()
