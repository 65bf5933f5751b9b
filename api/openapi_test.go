package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cointracker/cointracker/api"
)

// The OpenAPI 3 description (api/openapi.json, served at
// /docs/openapi.json) is generated from swag's Swagger 2.0 output
// (api/swagger/swagger.json, from the handlers' annotations), converted by
// kin-openapi's openapi2conv and then corrected from what Swagger 2.0
// cannot say or swag does not know:
//
//   - schema names lose swag's package prefix (api.Address → Address);
//   - a response schema's properties are required unless their Go field
//     is omitempty, and nullable when the Go field is a pointer (in an
//     answer, one that is not omitempty: that one is left out instead);
//     the Go types are what encoding/json writes, so they are the truth;
//     a request body allows no property beyond its own;
//   - integers say their Go width (int64, int32), times that they are
//     RFC 3339, and satoshi amounts that they are satoshis;
//   - the server is relative (the origin that served the document), and
//     operations without a bearer token say so with an empty security;
//   - every Problem response is application/problem+json, and every /v1
//     route lists the statuses any /v1 route can answer (400 for an
//     unknown parameter, 401, 413 for a body over 1 MiB, 429, 503 while
//     the database is down);
//   - the conditional reads list If-None-Match and 304, a txid
//     parameter its hex pattern, and ids are int64.
//
// `make gen` runs this test with -update to rewrite the file; `make
// gen-check` (and `make test`) run it without, failing when the file is
// stale.
var updateOpenAPI = flag.Bool("update", false, "rewrite api/openapi.json from api/swagger/swagger.json")

// responseSchemas are the Go types behind the response schemas, and
// requestSchemas the request bodies' (whose required fields swag reads
// from `binding:"required"`: a request field may be absent whatever its
// Go type). Every schema swag writes must be in one of them.
var (
	responseSchemas = []any{
		api.Address{}, api.SyncStatus{}, api.AddressList{}, api.Balance{}, api.AddressBalanceItem{},
		api.Balances{}, api.BalancePoint{}, api.BalanceHistory{}, api.Health{}, api.Me{},
		api.Problem{}, api.FieldError{}, api.Transaction{}, api.TransactionList{},
		api.Xpub{}, api.XpubAddress{}, api.XpubList{}, api.Event{}, api.EventList{},
		api.Webhook{}, api.WebhookWithSecret{}, api.WebhookList{}, api.PingResult{},
		api.Delivery{}, api.DeliveryList{},
	}
	requestSchemas = []any{api.CreateAddressRequest{}, api.UpdateAddressRequest{}, api.CreateXpubRequest{},
		api.CreateWebhookRequest{}, api.UpdateWebhookRequest{}}
)

// conditionalReads are the operations that answer 304 to If-None-Match
// (the routes of the conditional group in api/server.go); the contract
// check fails any answer with an ETag whose operation is not listed.
var conditionalReads = []string{
	"getMe", "listAddresses", "getAddress", "listAddressTransactions", "listTransactions",
	"listXpubs", "getXpub", "getBalances", "getBalanceHistory",
}

const problemType = "application/problem+json"

func TestOpenAPIDocumentIsCurrent(t *testing.T) {
	swagger, err := os.ReadFile("swagger/swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := buildOpenAPI(swagger)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("the generated document is not valid OpenAPI 3: %v", err)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	if *updateOpenAPI {
		if err := os.WriteFile("openapi.json", out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	committed, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, out) {
		t.Fatal("api/openapi.json is stale: run make gen")
	}
}

// buildOpenAPI converts swag's Swagger 2.0 document and corrects it.
func buildOpenAPI(swagger []byte) (*openapi3.T, error) {
	// Swag names schemas by package; clients would name them ApiAddress.
	swagger = bytes.ReplaceAll(swagger, []byte(`"#/definitions/api.`), []byte(`"#/definitions/`))
	var v2 openapi2.T
	if err := json.Unmarshal(swagger, &v2); err != nil {
		return nil, fmt.Errorf("read swagger.json: %w", err)
	}
	for name, s := range v2.Definitions {
		delete(v2.Definitions, name)
		v2.Definitions[strings.TrimPrefix(name, "api.")] = s
	}
	doc, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return nil, fmt.Errorf("convert to OpenAPI 3: %w", err)
	}
	doc.OpenAPI = "3.0.3"
	// No fixed host: a relative server is the origin that served the
	// document, on any port or domain.
	doc.Servers = openapi3.Servers{{URL: "/", Description: "the origin that served this document"}}
	if err := correctSchemas(doc.Components.Schemas); err != nil {
		return nil, err
	}
	correctOperations(doc)
	return doc, nil
}

// correctSchemas applies the Go types' facts to the component schemas.
func correctSchemas(schemas openapi3.Schemas) error {
	seen := map[string]bool{}
	for _, v := range responseSchemas {
		if err := correctSchema(schemas, reflect.TypeOf(v), true); err != nil {
			return err
		}
		seen[reflect.TypeOf(v).Name()] = true
	}
	for _, v := range requestSchemas {
		if err := correctSchema(schemas, reflect.TypeOf(v), false); err != nil {
			return err
		}
		seen[reflect.TypeOf(v).Name()] = true
	}
	for name := range schemas {
		if !seen[name] {
			return fmt.Errorf("schema %s has no Go type in responseSchemas or requestSchemas", name)
		}
	}
	return nil
}

// correctSchema sets required, nullable and integer formats on the schema
// of Go type t from its fields.
func correctSchema(schemas openapi3.Schemas, t reflect.Type, response bool) error {
	ref, ok := schemas[t.Name()]
	if !ok || ref.Value == nil {
		return fmt.Errorf("no schema %s for Go type %s", t.Name(), t)
	}
	s := ref.Value
	fields := jsonFields(t)
	if response {
		s.Required = nil
	} else {
		// The server refuses a body with an unknown field (400).
		no := false
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	}
	for _, f := range fields {
		prop, ok := s.Properties[f.name]
		if !ok {
			return fmt.Errorf("%s.%s (json %q) is missing from the schema", t.Name(), f.field.Name, f.name)
		}
		if response && !f.omitempty {
			s.Required = append(s.Required, f.name)
		}
		// A pointer is null when nil, unless omitempty leaves it out of an
		// answer instead.
		nullable := f.field.Type.Kind() == reflect.Pointer && (!response || !f.omitempty)
		if prop.Ref != "" {
			if nullable {
				// A $ref cannot carry nullable beside it in OpenAPI 3.0.
				s.Properties[f.name] = openapi3.NewSchemaRef("", &openapi3.Schema{
					Nullable: true, AllOf: openapi3.SchemaRefs{prop},
				})
			}
			continue
		}
		p := prop.Value
		// Swag's x-nullable (extensions:"x-nullable") marks a request
		// field that takes null without being a pointer.
		p.Nullable = p.Nullable || nullable
		setFormat(p, f.field.Type)
		if strings.HasSuffix(f.name, "_sats") && !strings.Contains(p.Description, "satoshis") {
			p.Description = strings.TrimSpace(p.Description + " In satoshis (integer).")
		}
	}
	slices.Sort(s.Required)
	return nil
}

// setFormat says an integer's width and that a time is RFC 3339, from its
// Go type (a pointer's or a slice's element included).
func setFormat(p *openapi3.Schema, t reflect.Type) {
	if t == reflect.TypeFor[time.Time]() || t == reflect.TypeFor[*time.Time]() {
		p.Format = "date-time"
		return
	}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
		if p.Items != nil && p.Items.Value != nil && t.Kind() != reflect.Pointer && p.Type.Is("array") {
			p = p.Items.Value
		}
	}
	switch t.Kind() {
	case reflect.Int64, reflect.Int, reflect.Uint64:
		p.Format = "int64"
	case reflect.Int32, reflect.Int16, reflect.Uint32, reflect.Uint16:
		p.Format = "int32"
	}
}

// jsonField is one field as encoding/json writes it.
type jsonField struct {
	name      string
	omitempty bool
	field     reflect.StructField
}

// jsonFields lists t's fields as encoding/json sees them, embedded
// structs' fields included.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := slices.Contains(strings.Split(opts, ","), "omitempty") || slices.Contains(strings.Split(opts, ","), "omitzero")
		out = append(out, jsonField{name: name, omitempty: omit, field: f})
	}
	return out
}

// correctOperations makes every Problem response problem+json, lists the
// statuses every /v1 route can answer and the conditional reads' 304.
func correctOperations(doc *openapi3.T) {
	problem := openapi3.NewSchemaRef("#/components/schemas/Problem", doc.Components.Schemas["Problem"].Value)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if strings.HasPrefix(path, "/v1/") {
				addResponse(op, 400, "bad request: an unknown query parameter, or a malformed one", problem)
				addResponse(op, 401, "missing or invalid bearer token", problem)
				addResponse(op, 413, "a request body over 1 MiB", problem)
				addResponse(op, 429, "rate limited; see Retry-After", problem)
				addResponse(op, 503, "the database is unreachable; see Retry-After", problem)
			}
			for _, p := range op.Parameters {
				if p.Value == nil || p.Value.Schema == nil || p.Value.Schema.Value == nil {
					continue
				}
				switch schema := p.Value.Schema.Value; p.Value.Name {
				case "txid":
					// Swag has no pattern for parameters; the server
					// decodes a txid as hex (either case).
					schema.Pattern = "^[0-9a-fA-F]{64}$"
				case "id", "address_id":
					schema.Format = "int64" // ids are bigint
				}
			}
			if op.Security == nil {
				// Said outright: this operation needs no bearer token.
				op.Security = openapi3.NewSecurityRequirements()
			}
			if method == "GET" && slices.Contains(conditionalReads, op.OperationID) {
				addConditional(op)
			}
			for code, r := range op.Responses.Map() {
				if r.Value == nil {
					continue
				}
				for mediaType, c := range r.Value.Content {
					if c.Schema != nil && c.Schema.Ref == problem.Ref {
						delete(r.Value.Content, mediaType)
						r.Value.Content[problemType] = c
						describeProblem(r.Value, code)
					}
				}
			}
		}
	}
}

// describeProblem says which problem type a response's body has.
func describeProblem(r *openapi3.Response, code string) {
	status, err := strconv.Atoi(code)
	if err != nil {
		return
	}
	kind := "Problem type " + api.ProblemTypeOf(status)
	switch status {
	case 400:
		kind += ", or " + api.ProblemTypeBase + "validation with the invalid fields in errors"
	case 422:
		kind = "Problem type " + api.ProblemTypeBase + "invalid-{field}, naming the field in errors"
	}
	desc := http.StatusText(status)
	if r.Description != nil {
		desc = *r.Description
	}
	r.WithDescription(desc + ". " + kind + ".")
}

// addResponse documents status on op unless it is already.
func addResponse(op *openapi3.Operation, status int, description string, schema *openapi3.SchemaRef) {
	if op.Responses.Status(status) != nil {
		return
	}
	op.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Value: openapi3.NewResponse().
		WithDescription(description).
		WithContent(openapi3.Content{problemType: openapi3.NewMediaType().WithSchemaRef(schema)})})
}

// addConditional documents If-None-Match, the ETag and 304 on a read.
func addConditional(op *openapi3.Operation) {
	op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: openapi3.NewHeaderParameter("If-None-Match").
		WithDescription("an ETag this read answered before: 304 while the user's data is unchanged").
		WithSchema(openapi3.NewStringSchema())})
	if ok := op.Responses.Status(200); ok != nil && ok.Value != nil {
		ok.Value.Headers = openapi3.Headers{
			"ETag": {Value: &openapi3.Header{Parameter: openapi3.Parameter{
				Description: "a weak tag of the user's data version; send it back in If-None-Match",
				Schema:      openapi3.NewStringSchema().NewRef()}}},
			"Cache-Control": {Value: &openapi3.Header{Parameter: openapi3.Parameter{
				Description: "private, no-cache", Schema: openapi3.NewStringSchema().NewRef()}}},
		}
	}
	op.Responses.Set("304", &openapi3.ResponseRef{Value: openapi3.NewResponse().
		WithDescription("not modified: the If-None-Match tag is current (no body)")})
}
