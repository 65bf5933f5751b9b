-- +goose Up
-- What the blockchain sync needs beyond the chain data itself.

-- The outpoints a pending transaction spends. When it leaves the mempool
-- unconfirmed, the sync asks the provider who spent these outpoints: a
-- confirmed conflicting spend means the transaction was replaced (RBF),
-- none means it was dropped. Rows go with their transaction.
CREATE TABLE transaction_spends (
    transaction_id bigint NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
    prev_txid bytea NOT NULL CHECK (octet_length(prev_txid) = 32),
    prev_vout integer NOT NULL CHECK (prev_vout >= 0),
    PRIMARY KEY (transaction_id, prev_txid, prev_vout)
);

COMMENT ON TABLE transaction_spends IS 'Outpoints spent by transactions seen pending, to tell replaced from dropped.';

-- The watch-list view gains the sync's progress, appended so existing
-- columns keep their positions.
CREATE OR REPLACE VIEW user_address_summaries AS
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
    b.tx_count,
    coalesce(s.pages_fetched, 0) AS sync_pages_fetched,
    coalesce(s.txs_fetched, 0) AS sync_txs_fetched,
    s.queued_at AS sync_queued_at,
    s.started_at AS sync_started_at
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

-- +goose Down
-- A view cannot lose columns by CREATE OR REPLACE: rebuild it as 00009 made it.
DROP VIEW user_address_summaries;
CREATE VIEW user_address_summaries AS
SELECT
    ua.id, ua.user_id, ua.address_id, ua.label, ua.xpub_id, ua.created_at,
    a.network, a.address, a.script_type,
    coalesce(s.status, 'new')::text AS sync_status,
    s.last_synced_height,
    s.finished_at AS synced_at,
    s.last_error AS sync_error,
    b.confirmed_sats, b.unconfirmed_sats, b.received_sats, b.sent_sats, b.tx_count
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
DROP TABLE transaction_spends;
