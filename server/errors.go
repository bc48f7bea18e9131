package server

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error of a service call that the REST API maps to an HTTP
// status. Message states what is wrong, with the value and the fix. It
// never contains a secret.
type Error struct {
	Status  int
	Message string
}

// Error returns the message.
func (e *Error) Error() string {
	return e.Message
}

func badRequest(format string, args ...any) error {
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

func unauthorized(format string, args ...any) error {
	return &Error{Status: http.StatusUnauthorized, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &Error{Status: http.StatusConflict, Message: fmt.Sprintf(format, args...)}
}

// statusOf returns the HTTP status of err: the Status of an *Error, 500
// otherwise.
func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return http.StatusInternalServerError
}
