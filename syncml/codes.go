package syncml

// Status codes used by OMA DM 1.2 (SyncML Representation Protocol).
const (
	StatusOK                  = 200
	StatusAccepted            = 202
	StatusAuthAccepted        = 212
	StatusChunkAccepted       = 213
	StatusOperationCancelled  = 214
	StatusNotExecuted         = 215
	StatusAtomicRollbackOK    = 216
	StatusBadRequest          = 400
	StatusInvalidCredentials  = 401
	StatusForbidden           = 403
	StatusNotFound            = 404
	StatusCommandNotAllowed   = 405
	StatusOptionalFeature     = 406
	StatusMissingCredentials  = 407
	StatusIncompleteCommand   = 412
	StatusEntityTooLarge      = 413
	StatusURITooLong          = 414
	StatusUnsupportedFormat   = 415
	StatusAlreadyExists       = 418
	StatusDeviceFull          = 420
	StatusSizeMismatch        = 424
	StatusPermissionDenied    = 425
	StatusCommandFailed       = 500
	StatusNotImplemented      = 501
	StatusProtocolUnsupported = 513
	StatusAtomicFailed        = 507
	StatusAtomicRollbackFail  = 516
)

// Alert codes of OMA DM 1.2.
const (
	AlertDisplay         = 1100
	AlertConfirm         = 1101
	AlertTextInput       = 1102
	AlertSingleChoice    = 1103
	AlertMultipleChoice  = 1104
	AlertServerInitiated = 1200
	AlertClientInitiated = 1201
	AlertNextMessage     = 1222
	AlertSessionAbort    = 1223
	AlertClientEvent     = 1224
	AlertNoEndOfData     = 1225
	AlertGeneric         = 1226
)

// Authentication types carried in Cred and Chal Meta Type.
const (
	AuthBasic = "syncml:auth-basic"
	AuthMD5   = "syncml:auth-md5"
	AuthMAC   = "syncml:auth-MAC"
)
