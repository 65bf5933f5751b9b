-- name: SyncStateGet :one
-- SyncStateGet returns an address's sync progress (primary key).
SELECT * FROM sync_states WHERE address_id = @address_id;

-- name: SyncStateEnsure :exec
-- SyncStateEnsure gives a newly tracked address its "new" sync state; an
-- existing state is kept.
INSERT INTO sync_states (address_id) VALUES (@address_id)
ON CONFLICT (address_id) DO NOTHING;

-- name: SyncStatesMarkDone :exec
-- SyncStatesMarkDone records a batch of addresses as fully synchronised
-- at a height and time (the fixtures' data is complete by construction).
-- Unchanged states are left untouched.
INSERT INTO sync_states AS s (address_id, status, last_synced_height, finished_at, updated_at)
SELECT unnest(@address_ids::bigint[]), 'done', @height::integer, @finished_at::timestamptz, @finished_at::timestamptz
ON CONFLICT (address_id) DO UPDATE
SET status = 'done',
    last_synced_height = EXCLUDED.last_synced_height,
    finished_at = EXCLUDED.finished_at,
    updated_at = EXCLUDED.updated_at
WHERE (s.status, s.last_synced_height, s.finished_at)
    IS DISTINCT FROM ('done', EXCLUDED.last_synced_height, EXCLUDED.finished_at);
