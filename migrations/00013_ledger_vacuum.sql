-- +goose NO TRANSACTION
-- +goose Up
-- 00012 rewrote every entry with siblings, which clears the visibility-map
-- bits of most of the table's pages: until a vacuum sets them again, the
-- history index's index-only scans read the heap for nearly every row
-- (pages 4× slower on the bench data). Autovacuum waits for 20% of the
-- table to change, so the migration vacuums now (outside a transaction,
-- as VACUUM must run).
VACUUM (ANALYZE) ledger_entries;

-- +goose Down
-- Nothing to undo.
