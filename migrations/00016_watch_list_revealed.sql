-- +goose Up
-- Chain data is shared, so an address someone else tracks is already
-- synchronised when a second user adds it. Shown at once, its sync time,
-- height, transaction count and balance would tell the second user that
-- someone else tracks it. A watch-list entry is therefore revealed only
-- once a sync of its address finishes after the entry exists; until then
-- it reads as an address nobody tracked before: status new or queued, no
-- sync figures, no balance, no history.
ALTER TABLE user_addresses ADD COLUMN revealed boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN user_addresses.revealed IS 'A sync of the address finished after the entry was created: its sync state, balance and history may be shown.';
-- Entries that exist now were shown all along.
UPDATE user_addresses SET revealed = true;

-- A sync that finishes (done or partial: SyncStateFinish, or the fixtures'
-- SyncStatesMarkDone) reveals every entry of the address that exists at
-- that moment, in the same transaction.
-- +goose StatementBegin
CREATE FUNCTION reveal_synced_entries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_addresses SET revealed = true
    WHERE address_id = NEW.address_id AND NOT revealed;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER sync_states_reveal
AFTER INSERT OR UPDATE OF finished_at ON sync_states
FOR EACH ROW
WHEN (NEW.finished_at IS NOT NULL AND NEW.status IN ('done', 'partial'))
EXECUTE FUNCTION reveal_synced_entries();

-- shown_sync_status is the sync status an entry shows: the address's own
-- once revealed, otherwise what a never-synced address shows: queued while
-- a sync is queued or running (the API queues one for every new entry),
-- new otherwise, whatever other users' syncs did before.
-- +goose StatementBegin
CREATE FUNCTION shown_sync_status(revealed boolean, status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN revealed THEN coalesce(status, 'new')
                WHEN status IN ('queued', 'running') THEN 'queued'
                ELSE 'new' END
$$;
-- +goose StatementEnd

-- The address's sync figures come from a join that only revealed entries
-- make (s); every entry shows a status from the unconditional one (st),
-- and the time a sync was asked for only when that was since the entry
-- exists (q).
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
    shown_sync_status(ua.revealed, st.status) AS sync_status,
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
    q.queued_at AS sync_queued_at,
    s.started_at AS sync_started_at
FROM user_addresses ua
JOIN addresses a ON a.id = ua.address_id
LEFT JOIN sync_states st ON st.address_id = ua.address_id
LEFT JOIN sync_states s ON s.address_id = ua.address_id AND ua.revealed
LEFT JOIN sync_states q ON q.address_id = ua.address_id AND (ua.revealed OR q.queued_at >= ua.created_at)
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
      AND ua.revealed
) b;

-- +goose Down
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
DROP FUNCTION shown_sync_status(boolean, text);
DROP TRIGGER sync_states_reveal ON sync_states;
DROP FUNCTION reveal_synced_entries();
ALTER TABLE user_addresses DROP COLUMN revealed;
