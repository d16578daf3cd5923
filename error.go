package custodian

import (
	"errors"
	"fmt"
	"regexp"
)

// Error codes users see. web maps each to an HTTP status.
const (
	EInvalid      = "invalid"      // bad input; Field names the offender
	EUnauthorized = "unauthorized" // missing, wrong or revoked credentials
	EForbidden    = "forbidden"    // authenticated but not allowed
	ENotFound     = "not_found"    // no such thing (or not yours)
	EConflict     = "conflict"     // state does not allow it
	ETooLarge     = "too_large"    // body over the limit
	EInternal     = "internal"     // anything else; details go to the log only
	EUnavailable  = "unavailable"  // temporarily cannot serve
)

// ErrStale is returned by a store when a decision was made against state
// (policy, blocks, agencies, registry) that has changed since; the caller
// reloads and decides again.
var ErrStale = errors.New("state changed since the decision")

// Error is the one error type whose message may be shown to users. It never
// carries personal data.
type Error struct {
	Code    string
	Message string
	Field   string // the offending input field, when there is one
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EInvalid error naming the input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal otherwise.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EInternal
}

var plainName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// EchoName is how an unknown name sent by a caller (a field, a JSON member)
// may be repeated in an error: as it was when it is a short plain name,
// otherwise as "…", so an error never carries arbitrary input.
func EchoName(s string) string {
	if plainName.MatchString(s) {
		return s
	}
	return "…"
}
