-- name: UserAddressCreate :one
-- UserAddressCreate puts a shared address on a user's watch-list. It fails
-- on user_addresses_user_id_address_id_key when the user already tracks it.
INSERT INTO user_addresses (user_id, address_id, label)
VALUES (@user_id, @address_id, sqlc.narg(label))
RETURNING *;

-- name: UserAddressesUpsert :exec
-- UserAddressesUpsert puts a batch of addresses on users' watch-lists (the
-- fixtures and xpub derivation use it). An xpub id of 0 means none and an
-- empty label means no label. Entries already there keep their row unless
-- the label or xpub changed, so a re-run writes nothing.
INSERT INTO user_addresses AS ua (user_id, address_id, label, xpub_id)
SELECT unnest(@user_ids::bigint[]), unnest(@address_ids::bigint[]),
       nullif(unnest(@labels::text[]), ''), nullif(unnest(@xpub_ids::bigint[]), 0)
ON CONFLICT ON CONSTRAINT user_addresses_user_id_address_id_key DO UPDATE
SET label = EXCLUDED.label, xpub_id = EXCLUDED.xpub_id
WHERE (ua.label, ua.xpub_id) IS DISTINCT FROM (EXCLUDED.label, EXCLUDED.xpub_id);

-- name: UserAddressList :many
-- UserAddressList serves GET /v1/addresses: one page of the user's
-- watch-list in id order (keyset on user_addresses_user_id_id_idx), each
-- with its balance summary (an index-only scan of ledger_entries_history_idx)
-- and sync status. Replaced and dropped transactions never count.
SELECT
    ua.id,
    ua.label,
    ua.xpub_id,
    ua.created_at,
    a.network,
    a.address,
    a.script_type,
    coalesce(s.status, 'new')::text AS sync_status,
    s.last_synced_height,
    s.finished_at AS synced_at,
    s.last_error AS sync_error,
    b.confirmed_sats,
    b.unconfirmed_sats,
    b.tx_count
FROM user_addresses ua
JOIN addresses a ON a.id = ua.address_id
LEFT JOIN sync_states s ON s.address_id = ua.address_id
CROSS JOIN LATERAL (
    SELECT
        coalesce(sum(le.net_sats) FILTER (WHERE le.status = 'confirmed'), 0)::bigint AS confirmed_sats,
        coalesce(sum(le.net_sats) FILTER (WHERE le.status = 'pending'), 0)::bigint AS unconfirmed_sats,
        count(*)::bigint AS tx_count
    FROM ledger_entries le
    WHERE le.address_id = ua.address_id
      AND le.status IN ('confirmed', 'pending')
) b
WHERE ua.user_id = @user_id
  AND ua.id > @after_id
ORDER BY ua.id
LIMIT @max_rows;
