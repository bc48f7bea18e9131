// Package dmauth computes and checks OMA DM credentials (syncml:auth-md5,
// syncml:auth-basic, and syncml:auth-MAC with its x-syncml-hmac header) and
// issues nonces. It does no I/O: callers store the
// nonces per account and pass them in.
//
// Credentials, passwords and nonces are secrets. No function here puts one
// into an error message, so errors are safe to log.
package dmauth
