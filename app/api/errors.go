package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is an error a client sees as an OpenAI-style error object with an HTTP status.
type apiError struct {
	status  int
	typ     string // OpenAI's error type: invalid_request_error, authentication_error, ...
	code    string // a machine-readable code, or ""
	param   string // the request field at fault, or ""
	message string
	// retryAfter, when positive, is sent as the Retry-After header (seconds).
	retryAfter int
}

func (e *apiError) Error() string { return e.message }

// errorBody is the JSON shape OpenAI clients parse: {"error": {...}}.
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) body() errorBody {
	b := errorBody{Error: errorObject{Message: e.message, Type: e.typ}}
	if e.param != "" {
		b.Error.Param = &e.param
	}
	if e.code != "" {
		b.Error.Code = &e.code
	}
	return b
}

// badRequest is a 400 about param (which may be "").
func badRequest(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", param: param, message: fmt.Sprintf(format, args...)}
}

// tooLarge is a 413 about param.
func tooLarge(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, typ: "invalid_request_error", code: "request_too_large", param: param,
		message: fmt.Sprintf(format, args...)}
}

// notFound is a 404 with code.
func notFound(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusNotFound, typ: "invalid_request_error", code: code, message: fmt.Sprintf(format, args...)}
}

// internalError is the 500 every unexpected failure becomes: the message names what failed,
// never a stack.
func internalError(format string, args ...any) *apiError {
	return &apiError{status: http.StatusInternalServerError, typ: "server_error", code: "internal_error", message: fmt.Sprintf(format, args...)}
}

// withCode sets the code and returns e.
func (e *apiError) withCode(code string) *apiError {
	e.code = code
	return e
}

// writeError sends e as a JSON error response.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.status, e.body())
}

// writeJSON sends v with status. A failed write means the client is gone: nothing to report.
func writeJSON(w http.ResponseWriter, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		raw, _ = json.Marshal(internalError("encode response: %v", err).body())
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(raw)+1))
	extendWrite(w)
	w.WriteHeader(status)
	w.Write(append(raw, '\n'))
}
