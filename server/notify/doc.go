// Package notify wakes devices with OMA DM Package #0 notifications. When
// the server queues a command for a device, a Notifier records a pending
// notification with a fresh 16-bit session id and delivers the Package #0
// message over two transports:
//
//   - an HTTP long-poll, GET /dm/notify, that the agent keeps open and
//     authenticates with its client credentials and a single-use nonce
//     (works behind NAT);
//   - a connectionless WAP Push datagram over UDP to the address the agent
//     reported in its DevInfo, only when that address is in the allowed
//     prefixes (loopback by default).
//
// A Waker carries wake-ups to the replica that holds the device's
// long-poll. Hub is the in-process Waker of a single server.
package notify
