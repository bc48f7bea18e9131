package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// cliFlags maps a JSON request field to the `virmo` flag that sets it, so
// an error can name both.
var cliFlags = map[string]string{
	"user_unlock": "--user-unlock",
	"secret":      "--secret",
	"reason":      "--reason",
	"note":        "--note",
	"ttl_seconds": "--ttl",
}

// fieldName returns a JSON field name followed by its CLI flag, if any.
func fieldName(field string) string {
	if flag, ok := cliFlags[field]; ok {
		return fmt.Sprintf("%s (virmo flag %s)", field, flag)
	}
	return field
}

// describeJSONError rewrites an encoding/json decode error in the terms of
// the request, without Go type or struct names.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		got := typeErr.Value
		if typeErr.Field == "" {
			return fmt.Sprintf("the body is a JSON %s, not an object", got)
		}
		return fmt.Sprintf("field %s: want %s, got %s", fieldName(typeErr.Field),
			describeKind(typeErr.Type), got)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("%s at byte %d", syntaxErr.Error(), syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early; close every string, array and object"
	}
	message := strings.TrimPrefix(err.Error(), "json: ")
	if field, ok := strings.CutPrefix(message, "unknown field "); ok {
		return "unknown field " + field
	}
	return message
}

// describeKind returns the JSON value a Go type accepts, in request terms.
func describeKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}
