package agent

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// WSP values of a connectionless WAP Push carrying Package #0.
const (
	wspPDUPush = 0x06
	// wspContentTypeCode is the short-integer form of content type code
	// 0x44, application/vnd.syncml.notification.
	wspContentTypeCode = 0x80 | 0x44
	// wspHeaderAppID is the short-integer form of header field code 0x2F,
	// X-Wap-Application-Id, and wspAppIDSyncMLDM that of application id
	// 0x07, whose text form is wspAppIDSyncMLDMText.
	wspHeaderAppID       = 0x80 | 0x2F
	wspAppIDSyncMLDM     = 0x80 | 0x07
	wspAppIDSyncMLDMText = "x-wap-application:syncml.dm"
)

// parsePush returns the Package #0 inside a connectionless WSP Push PDU.
// The PDU starts with the transaction id, PDU type 0x06 and the headers
// length as a uintvar. The headers are the content type (code 0x44 or its
// text form) and the other headers. These must include X-Wap-Application-Id
// syncml.dm (code 0x07 or its text form).
func parsePush(pdu []byte) ([]byte, error) {
	if len(pdu) < 4 || pdu[1] != wspPDUPush {
		return nil, errors.New("datagram is not a WSP Push PDU")
	}

	headersLen, size, ok := readUintvar(pdu[2:])
	if !ok {
		return nil, errors.New("WSP Push has an invalid headers length")
	}
	start := 2 + size
	if headersLen == 0 || headersLen > uint64(len(pdu)-start) {
		return nil, errors.New("WSP Push headers run past the end of the datagram")
	}
	headers := pdu[start : start+int(headersLen)]
	body := pdu[start+int(headersLen):]

	textType := notifyContentType + "\x00"
	var rest []byte
	switch {
	case headers[0] == wspContentTypeCode:
		rest = headers[1:]
	case strings.HasPrefix(string(headers), textType):
		rest = headers[len(textType):]
	default:
		return nil, errors.New("WSP Push content type is not application/vnd.syncml.notification")
	}

	if err := checkApplicationID(rest); err != nil {
		return nil, err
	}

	if len(body) > maxNotificationSize {
		return nil, fmt.Errorf("notification of %d bytes exceeds %d", len(body), maxNotificationSize)
	}
	return body, nil
}

// checkApplicationID scans the WSP headers that follow the content type
// for X-Wap-Application-Id and fails unless it is present and names
// syncml.dm, because a push for another application is not a DM trigger.
func checkApplicationID(headers []byte) error {
	for len(headers) > 0 {
		field := headers[0]
		switch {
		case field >= 0x80: // well-known field name as a short-integer
			size, ok := wspValueSize(headers[1:])
			if !ok {
				return fmt.Errorf("WSP Push header 0x%02x has an invalid value", field)
			}
			value := headers[1 : 1+size]
			if field == wspHeaderAppID {
				if isSyncMLDMAppID(value) {
					return nil
				}
				return errors.New("WSP Push X-Wap-Application-Id is not x-wap-application:syncml.dm")
			}
			headers = headers[1+size:]
		case field >= 0x20 && field < 0x7f: // application header: text name, text value
			name := bytes.IndexByte(headers, 0)
			if name < 0 {
				return errors.New("WSP Push header name lacks its terminating NUL")
			}
			value := bytes.IndexByte(headers[name+1:], 0)
			if value < 0 {
				return errors.New("WSP Push header value lacks its terminating NUL")
			}
			headers = headers[name+1+value+1:]
		default:
			return fmt.Errorf("WSP Push header starts with 0x%02x, a code page shift, "+
				"which is not supported", field)
		}
	}
	return errors.New("WSP Push lacks the X-Wap-Application-Id header")
}

// isSyncMLDMAppID reports whether an X-Wap-Application-Id value names
// syncml.dm as a short-integer, a long-integer or a NUL-terminated URI.
func isSyncMLDMAppID(value []byte) bool {
	switch {
	case len(value) == 1:
		return value[0] == wspAppIDSyncMLDM
	case len(value) == 2 && value[0] == 1:
		return value[1] == wspAppIDSyncMLDM&0x7f
	default:
		return string(value) == wspAppIDSyncMLDMText+"\x00"
	}
}

// wspValueSize returns the length in octets of the WSP header value at the
// start of b: a short-integer, a NUL-terminated text string, or a value
// length (one octet up to 30, or 31 and a uintvar) and that many octets.
func wspValueSize(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	switch first := b[0]; {
	case first >= 0x80:
		return 1, true
	case first >= 0x20:
		end := bytes.IndexByte(b, 0)
		return end + 1, end >= 0
	case first < 31:
		size := 1 + int(first)
		return size, size <= len(b)
	default:
		length, n, ok := readUintvar(b[1:])
		if !ok || length > uint64(len(b)-1-n) {
			return 0, false
		}
		return 1 + n + int(length), true
	}
}

// readUintvar decodes a WSP variable-length unsigned integer of at most 5
// octets and returns it with the number of octets read.
func readUintvar(b []byte) (uint64, int, bool) {
	var v uint64
	for i := 0; i < len(b) && i < 5; i++ {
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i]&0x80 == 0 {
			return v, i + 1, true
		}
	}
	return 0, 0, false
}
