// Package migrations holds the numbered SQL migrations (goose format: one
// file per version with Up and Down sections), embedded into the binary.
// Each schema has one owner (auth, ledger, notify) and no statement crosses
// two of them, so each can later move to its own database.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
