-- name: SyncStatesEnsure :exec
-- SyncStatesEnsure gives newly tracked addresses their "new" sync state;
-- an existing state is kept. db.Track calls it.
INSERT INTO sync_states (address_id)
SELECT unnest(@address_ids::bigint[])
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
