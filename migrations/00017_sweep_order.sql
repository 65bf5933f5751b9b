-- +goose Up
-- The periodic sweep takes partial histories first, stalest first, then
-- addresses never synced (each had its first sync queued when it was
-- added: the sweep finds one only when that job was lost), then complete
-- histories by staleness. Before, never-synced addresses came first, so a
-- tenant's backlog of new addresses went ahead of everyone's partial and
-- stale re-syncs.
DROP INDEX sync_states_sweep_idx;
CREATE INDEX sync_states_sweep_idx ON sync_states (history_complete, finished_at NULLS LAST);

-- +goose Down
DROP INDEX sync_states_sweep_idx;
CREATE INDEX sync_states_sweep_idx ON sync_states (history_complete, finished_at NULLS FIRST);
