-- name: SyncStateGet :one
-- SyncStateGet returns an address's sync progress (primary key).
SELECT * FROM sync_states WHERE address_id = @address_id;

-- name: SyncStateEnsure :exec
-- SyncStateEnsure gives a newly tracked address its "new" sync state; an
-- existing state is kept.
INSERT INTO sync_states (address_id) VALUES (@address_id)
ON CONFLICT (address_id) DO NOTHING;
