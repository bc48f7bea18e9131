// Package notification encodes, decodes and verifies OMA DM 1.2 Package #0,
// the General Notification Initiated Session message a server sends to wake a
// client (MIME type application/vnd.syncml.notification, WSP code 0x44).
//
// A message is a 16-byte digest followed by the trigger: an 8-byte
// big-endian header (version, UI mode, initiator, 27 reserved bits, session
// id, server-id length), the server identifier and optional vendor bytes.
// The digest is MD5(B64(MD5(server-id ":" password)) ":" nonce ":"
// B64(MD5(trigger))), keyed with the server credentials of the DM account
// (AAuthLevel SRVCRED).
//
// The package does no I/O. Digests, nonces and passwords never appear in
// its errors, so errors are safe to log.
package notification
