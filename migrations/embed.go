// Package migrations holds the database schema as goose SQL migrations,
// embedded into the binary, and applies them.
package migrations

import "embed"

// FS holds every migration, named NNNNN_description.sql so goose and sqlc
// read them in the same order.
//
//go:embed *.sql
var FS embed.FS
