-- +goose Up
-- One row per watch-list entry with what the API shows about it: the
-- shared address, its sync state and its balance summary. It is a plain
-- view, so PostgreSQL folds it into each query: filters on user_id and id
-- reach user_addresses_user_id_id_idx, and the balance is an index-only
-- scan of ledger_entries_history_idx per entry. Replaced and dropped
-- transactions never count.
CREATE VIEW user_address_summaries AS
SELECT
    ua.id,
    ua.user_id,
    ua.address_id,
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
    b.received_sats,
    b.sent_sats,
    b.tx_count
FROM user_addresses ua
JOIN addresses a ON a.id = ua.address_id
LEFT JOIN sync_states s ON s.address_id = ua.address_id
CROSS JOIN LATERAL (
    SELECT
        coalesce(sum(le.net_sats) FILTER (WHERE le.status = 'confirmed'), 0)::bigint AS confirmed_sats,
        coalesce(sum(le.net_sats) FILTER (WHERE le.status = 'pending'), 0)::bigint AS unconfirmed_sats,
        coalesce(sum(le.received_sats), 0)::bigint AS received_sats,
        coalesce(sum(le.sent_sats), 0)::bigint AS sent_sats,
        count(*)::bigint AS tx_count
    FROM ledger_entries le
    WHERE le.address_id = ua.address_id
      AND le.status IN ('confirmed', 'pending')
) b;

COMMENT ON VIEW user_address_summaries IS 'Watch-list entries with address, sync state and balance summary, as the API shows them.';

-- +goose Down
DROP VIEW user_address_summaries;
