package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/custodian-project/custodian"
)

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// decode reads one JSON value of type T from a size-limited body, refusing
// unknown fields, trailing data and wrong types with an error naming the field.
func decode[T any](w http.ResponseWriter, r *http.Request, limit int64) (T, error) {
	var v T
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/problem+json") {
		return v, custodian.Errorf(custodian.EInvalid, "the body must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return v, custodian.Errorf(custodian.EInvalid, "the body must hold one JSON object and nothing after it")
	}
	return v, nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return custodian.Errorf(custodian.ETooLarge, "the body is larger than %d bytes", tooBig.Limit)
	case errors.As(err, &syn):
		return custodian.Errorf(custodian.EInvalid, "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return custodian.FieldError(typ.Field, "must be a JSON %s", typ.Type.String())
	case errors.Is(err, io.EOF):
		return custodian.Errorf(custodian.EInvalid, "the body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return custodian.Errorf(custodian.EInvalid, "malformed JSON: the body ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return custodian.FieldError(custodian.EchoName(name), "unknown field")
	}
	return custodian.Errorf(custodian.EInvalid, "malformed JSON")
}

// problem is an RFC 9457 problem details document.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Field     string `json:"field,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

var statusOf = map[string]int{
	custodian.EInvalid:      http.StatusBadRequest,
	custodian.EUnauthorized: http.StatusUnauthorized,
	custodian.EForbidden:    http.StatusForbidden,
	custodian.ENotFound:     http.StatusNotFound,
	custodian.EConflict:     http.StatusConflict,
	custodian.ETooLarge:     http.StatusRequestEntityTooLarge,
	custodian.EUnavailable:  http.StatusServiceUnavailable,
	custodian.EInternal:     http.StatusInternalServerError,
}

// writeError is the one place errors become HTTP responses. Internal errors
// are logged with the request id and shown only as "internal error".
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := custodian.ErrorCode(err)
	status := statusOf[code]
	p := problem{Type: "https://custodian.dev/problems/" + code, Title: http.StatusText(status), Status: status, Code: code, RequestID: reqID(r)}
	var ce *custodian.Error
	if code != custodian.EInternal && errors.As(err, &ce) {
		p.Detail, p.Field = ce.Message, ce.Field
	} else {
		p.Detail = fmt.Sprintf("internal error (request %s)", p.RequestID)
		log.Error("internal error", "request_id", p.RequestID, "err", err.Error())
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="custodian"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}
