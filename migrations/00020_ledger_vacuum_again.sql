-- +goose NO TRANSACTION
-- +goose Up
-- 00019 rewrote every entry that has a fee: vacuum now, for the reason
-- 00013 gives (index-only scans read the heap until the visibility map is
-- set again).
VACUUM (ANALYZE) ledger_entries;

-- +goose Down
-- Nothing to undo.
