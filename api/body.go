package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
)

// bindJSON decodes the request body strictly into v: the content type must
// be JSON (415 otherwise), the body at most 1 MiB (413), well formed, of
// the right types and with no unknown fields (400 naming the field). It
// writes the problem and returns false when the body is refused.
func bindJSON(c *gin.Context, v any) bool {
	mediaType, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mediaType != "application/json" {
		abortStatus(c, http.StatusUnsupportedMediaType, "send the body as application/json")
		return false
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			abortStatus(c, http.StatusRequestEntityTooLarge, "request bodies are limited to 1 MiB")
			return false
		}
		abortStatus(c, http.StatusBadRequest, "the request body could not be read")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		abortValidation(c, []FieldError{jsonFieldError(err)})
		return false
	}
	if dec.More() {
		abortValidation(c, []FieldError{{Field: "body", Message: "must hold exactly one JSON object"}})
		return false
	}
	return true
}

// nullableString is a JSON field that may be a string or null, and that
// knows whether it was present at all (PATCH semantics).
type nullableString struct {
	Set   bool
	Value *string
}

// UnmarshalJSON records presence and accepts a string or null.
func (n *nullableString) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Value = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		// The decoder adds the field name to a type error.
		return &json.UnmarshalTypeError{Value: "non-string value", Type: reflect.TypeFor[*string]()}
	}
	n.Value = &s
	return nil
}

// jsonFieldError names the field a decoding error is about.
func jsonFieldError(err error) FieldError {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return FieldError{Field: typeErr.Field, Message: fmt.Sprintf("must be %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)}
	case errors.As(err, &typeErr):
		return FieldError{Field: "body", Message: "must be a JSON object"}
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return FieldError{Field: "body", Message: "is not valid JSON"}
	case errors.Is(err, io.EOF):
		return FieldError{Field: "body", Message: "is empty; send a JSON object"}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return FieldError{Field: strings.Trim(name, `"`), Message: "unknown field"}
	}
	return FieldError{Field: "body", Message: "is not a valid request: " + err.Error()}
}

func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "ptr":
		return "a string or null"
	case "int", "int32", "int64":
		return "an integer"
	case "bool":
		return "true or false"
	}
	return "a " + kind
}
