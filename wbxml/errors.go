package wbxml

import (
	"errors"
	"fmt"
)

// Sentinel errors that a *DecodeError wraps, so callers can test the cause
// with errors.Is.
var (
	// ErrUnknownToken is a tag token that the current code page does not
	// define.
	ErrUnknownToken = errors.New("unknown token")
	// ErrUnknownPage is a SWITCH_PAGE to a code page without a tag table.
	ErrUnknownPage = errors.New("unknown code page")
	// ErrUnsupportedToken is a PI or EXT token, or an attribute list, that
	// SyncML DM does not use and this package does not read.
	ErrUnsupportedToken = errors.New("unsupported token")
	// ErrUnsupportedCharset is a charset other than UTF-8.
	ErrUnsupportedCharset = errors.New("unsupported charset")
	// ErrTruncated is input that ends inside a header field, a string, an
	// integer or an open element.
	ErrTruncated = errors.New("unexpected end of input")
)

// DecodeError is a decoding failure at a byte offset of the input.
type DecodeError struct {
	// Offset is the position, in bytes from the start of the input, of the
	// token or field that failed.
	Offset int
	// Msg describes the failure.
	Msg string
	// Err is the sentinel cause, or nil.
	Err error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("wbxml: offset %d: %s", e.Offset, e.Msg)
}

// Unwrap returns the sentinel cause, or nil.
func (e *DecodeError) Unwrap() error { return e.Err }
