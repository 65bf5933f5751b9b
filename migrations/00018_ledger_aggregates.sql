-- +goose Up
-- Stored aggregates of the ledger, so that what the API summarises costs
-- one row per watch-list entry (balances, the watch-list, the xpub
-- resource) or per entry and day (the balance history), whatever the
-- length of the history: an address's totals, and its net movement per
-- day. Triggers on ledger_entries keep both in the same transaction as
-- every ledger write: sync pages, status changes (they reach the ledger
-- through transactions_ledger_sync), fixtures, deletions. The rows they
-- count are the rows balances count: confirmed and pending; replaced and
-- dropped never count. ledger_aggregate_differences() recomputes both
-- from the ledger (`cointracker verify`; every test database is checked
-- with it when its test ends).

CREATE TABLE address_totals (
    address_id bigint PRIMARY KEY REFERENCES addresses (id) ON DELETE CASCADE,
    confirmed_sats bigint NOT NULL DEFAULT 0,
    unconfirmed_sats bigint NOT NULL DEFAULT 0,
    received_sats bigint NOT NULL DEFAULT 0,
    sent_sats bigint NOT NULL DEFAULT 0,
    tx_count bigint NOT NULL DEFAULT 0,
    first_activity timestamptz,
    last_activity timestamptz
);
COMMENT ON TABLE address_totals IS 'Per-address sums of the confirmed and pending ledger entries, kept by ledger_aggregates triggers.';
COMMENT ON COLUMN address_totals.first_activity IS 'Block time (first seen while pending) of the earliest counted entry.';

CREATE TABLE address_days (
    address_id bigint NOT NULL REFERENCES addresses (id) ON DELETE CASCADE,
    day date NOT NULL,
    net_sats bigint NOT NULL,
    tx_count bigint NOT NULL,
    PRIMARY KEY (address_id, day)
);
COMMENT ON TABLE address_days IS 'Per-address, per-UTC-day net movement of the counted ledger entries (on block time, first seen while pending), kept by ledger_aggregates triggers.';

-- One counted ledger row entering (sign 1) or leaving (sign -1) the
-- aggregates.
CREATE TYPE ledger_change AS (
    address_id bigint,
    sign integer,
    status text,
    received_sats bigint,
    sent_sats bigint,
    net_sats bigint,
    sort_time timestamptz
);

-- ledger_aggregates_add applies changes to both tables: sums by address
-- and by address and day, upserted in key order so two writers touching
-- the same addresses lock them in the same order. A change that takes
-- away the address's first or last activity has it found again from
-- ledger_entries_history_idx, one probe per side (confirmed, pending).
-- +goose StatementBegin
CREATE FUNCTION ledger_aggregates_add(changes ledger_change[]) RETURNS void
LANGUAGE sql VOLATILE AS $$
    INSERT INTO address_totals AS t
        (address_id, confirmed_sats, unconfirmed_sats, received_sats, sent_sats, tx_count, first_activity, last_activity)
    SELECT c.address_id,
           coalesce(sum(c.sign * c.net_sats) FILTER (WHERE c.status = 'confirmed'), 0),
           coalesce(sum(c.sign * c.net_sats) FILTER (WHERE c.status = 'pending'), 0),
           sum(c.sign * c.received_sats),
           sum(c.sign * c.sent_sats),
           sum(c.sign),
           min(c.sort_time) FILTER (WHERE c.sign > 0),
           max(c.sort_time) FILTER (WHERE c.sign > 0)
    FROM unnest(changes) c
    GROUP BY c.address_id
    ORDER BY c.address_id
    ON CONFLICT (address_id) DO UPDATE SET
        confirmed_sats = t.confirmed_sats + EXCLUDED.confirmed_sats,
        unconfirmed_sats = t.unconfirmed_sats + EXCLUDED.unconfirmed_sats,
        received_sats = t.received_sats + EXCLUDED.received_sats,
        sent_sats = t.sent_sats + EXCLUDED.sent_sats,
        tx_count = t.tx_count + EXCLUDED.tx_count,
        first_activity = least(t.first_activity, EXCLUDED.first_activity),
        last_activity = greatest(t.last_activity, EXCLUDED.last_activity);

    UPDATE address_totals t SET
        first_activity = least(
            (SELECT min(l.sort_time) FROM ledger_entries l
             WHERE l.address_id = t.address_id AND NOT l.unconfirmed AND l.status = 'confirmed'),
            (SELECT min(l.sort_time) FROM ledger_entries l
             WHERE l.address_id = t.address_id AND l.unconfirmed AND l.status = 'pending')),
        last_activity = greatest(
            (SELECT max(l.sort_time) FROM ledger_entries l
             WHERE l.address_id = t.address_id AND NOT l.unconfirmed AND l.status = 'confirmed'),
            (SELECT max(l.sort_time) FROM ledger_entries l
             WHERE l.address_id = t.address_id AND l.unconfirmed AND l.status = 'pending'))
    WHERE t.address_id IN (
        SELECT c.address_id FROM unnest(changes) c
        JOIN address_totals o ON o.address_id = c.address_id
        WHERE c.sign < 0 AND (c.sort_time <= o.first_activity OR c.sort_time >= o.last_activity
                              OR o.first_activity IS NULL));

    INSERT INTO address_days AS d (address_id, day, net_sats, tx_count)
    SELECT c.address_id, (c.sort_time AT TIME ZONE 'UTC')::date, sum(c.sign * c.net_sats), sum(c.sign)
    FROM unnest(changes) c
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (address_id, day) DO UPDATE SET
        net_sats = d.net_sats + EXCLUDED.net_sats,
        tx_count = d.tx_count + EXCLUDED.tx_count;

    DELETE FROM address_days d
    USING (SELECT DISTINCT c.address_id, (c.sort_time AT TIME ZONE 'UTC')::date AS day
           FROM unnest(changes) c WHERE c.sign < 0) gone
    WHERE d.address_id = gone.address_id AND d.day = gone.day AND d.tx_count = 0;
$$;
-- +goose StatementEnd

-- ledger_aggregates_follow turns a statement's ledger rows into changes:
-- inserted rows enter, deleted rows leave, and an updated row leaves and
-- enters again only when something counted changed (status, amounts,
-- time): most updates (has_siblings, the fee share) change none of it.
-- +goose StatementBegin
CREATE FUNCTION ledger_aggregates_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changes ledger_change[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        changes := ARRAY(
            SELECT ROW(n.address_id, 1, n.status, n.received_sats, n.sent_sats, n.net_sats, n.sort_time)::ledger_change
            FROM new_rows n WHERE n.status IN ('confirmed', 'pending'));
    ELSIF TG_OP = 'DELETE' THEN
        changes := ARRAY(
            SELECT ROW(o.address_id, -1, o.status, o.received_sats, o.sent_sats, o.net_sats, o.sort_time)::ledger_change
            FROM old_rows o WHERE o.status IN ('confirmed', 'pending'));
    ELSE
        changes := ARRAY(
            SELECT ch
            FROM old_rows o
            JOIN new_rows n USING (transaction_id, address_id)
            CROSS JOIN LATERAL (VALUES
                (ROW(o.address_id, -1, o.status, o.received_sats, o.sent_sats, o.net_sats, o.sort_time)::ledger_change,
                 o.status IN ('confirmed', 'pending')),
                (ROW(n.address_id, 1, n.status, n.received_sats, n.sent_sats, n.net_sats, n.sort_time)::ledger_change,
                 n.status IN ('confirmed', 'pending'))) AS v(ch, counted)
            WHERE v.counted
              AND (o.status, o.received_sats, o.sent_sats, o.sort_time)
                  IS DISTINCT FROM (n.status, n.received_sats, n.sent_sats, n.sort_time));
    END IF;
    IF cardinality(changes) > 0 THEN
        PERFORM ledger_aggregates_add(changes);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER ledger_aggregates_insert
    AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_aggregates_follow();
CREATE TRIGGER ledger_aggregates_update
    AFTER UPDATE ON ledger_entries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_aggregates_follow();
CREATE TRIGGER ledger_aggregates_delete
    AFTER DELETE ON ledger_entries
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_aggregates_follow();

-- ledger_aggregate_differences recomputes both tables from the ledger and
-- lists every row where the stored figures differ (day is null for an
-- address's totals; a missing row reads as zeros). Empty means the
-- aggregates are exact. It reads the whole ledger.
CREATE VIEW ledger_aggregate_differences AS
    WITH computed AS (
        SELECT l.address_id,
               coalesce(sum(l.net_sats) FILTER (WHERE l.status = 'confirmed'), 0) AS confirmed_sats,
               coalesce(sum(l.net_sats) FILTER (WHERE l.status = 'pending'), 0) AS unconfirmed_sats,
               sum(l.received_sats) AS received_sats, sum(l.sent_sats) AS sent_sats,
               count(*) AS tx_count, min(l.sort_time) AS first_activity, max(l.sort_time) AS last_activity
        FROM ledger_entries l
        WHERE l.status IN ('confirmed', 'pending')
        GROUP BY l.address_id
    ), totals AS (
        SELECT coalesce(c.address_id, t.address_id) AS address_id,
               ROW(t.confirmed_sats, t.unconfirmed_sats, t.received_sats, t.sent_sats, t.tx_count, t.first_activity, t.last_activity)::text AS stored,
               ROW(c.confirmed_sats, c.unconfirmed_sats, c.received_sats, c.sent_sats, c.tx_count, c.first_activity, c.last_activity)::text AS computed
        FROM computed c
        FULL JOIN (SELECT * FROM address_totals WHERE tx_count > 0 OR first_activity IS NOT NULL
                   OR (confirmed_sats, unconfirmed_sats, received_sats, sent_sats) <> (0, 0, 0, 0)) t
            ON t.address_id = c.address_id
    ), days AS (
        SELECT l.address_id, (l.sort_time AT TIME ZONE 'UTC')::date AS day, sum(l.net_sats) AS net_sats, count(*) AS tx_count
        FROM ledger_entries l
        WHERE l.status IN ('confirmed', 'pending')
        GROUP BY 1, 2
    )
    SELECT totals.address_id, NULL::date AS day, totals.stored, totals.computed
    FROM totals WHERE totals.stored IS DISTINCT FROM totals.computed
    UNION ALL
    SELECT coalesce(c.address_id, d.address_id), coalesce(c.day, d.day),
           ROW(d.net_sats, d.tx_count)::text, ROW(c.net_sats, c.tx_count)::text
    FROM days c
    FULL JOIN address_days d ON d.address_id = c.address_id AND d.day = c.day
    WHERE (d.net_sats, d.tx_count) IS DISTINCT FROM (c.net_sats, c.tx_count);

-- The user's transaction count subtracts the transactions at several of
-- the user's addresses (queries/balances.sql): this lists an address's
-- rows that may be such.
CREATE INDEX ledger_entries_siblings_idx ON ledger_entries (address_id, transaction_id)
    WHERE has_siblings AND status IN ('confirmed', 'pending');

-- The ledger as it stands.
INSERT INTO address_totals (address_id, confirmed_sats, unconfirmed_sats, received_sats, sent_sats, tx_count, first_activity, last_activity)
SELECT l.address_id,
       coalesce(sum(l.net_sats) FILTER (WHERE l.status = 'confirmed'), 0),
       coalesce(sum(l.net_sats) FILTER (WHERE l.status = 'pending'), 0),
       sum(l.received_sats), sum(l.sent_sats), count(*), min(l.sort_time), max(l.sort_time)
FROM ledger_entries l
WHERE l.status IN ('confirmed', 'pending')
GROUP BY l.address_id;

INSERT INTO address_days (address_id, day, net_sats, tx_count)
SELECT l.address_id, (l.sort_time AT TIME ZONE 'UTC')::date, sum(l.net_sats), count(*)
FROM ledger_entries l
WHERE l.status IN ('confirmed', 'pending')
GROUP BY 1, 2;

-- The watch-list reads an entry's totals from its row (shown once the
-- entry is revealed, migration 00016) instead of summing its ledger.
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
    coalesce(b.confirmed_sats, 0) AS confirmed_sats,
    coalesce(b.unconfirmed_sats, 0) AS unconfirmed_sats,
    coalesce(b.received_sats, 0) AS received_sats,
    coalesce(b.sent_sats, 0) AS sent_sats,
    coalesce(b.tx_count, 0) AS tx_count,
    coalesce(s.pages_fetched, 0) AS sync_pages_fetched,
    coalesce(s.txs_fetched, 0) AS sync_txs_fetched,
    q.queued_at AS sync_queued_at,
    s.started_at AS sync_started_at,
    b.first_activity,
    b.last_activity
FROM user_addresses ua
JOIN addresses a ON a.id = ua.address_id
LEFT JOIN sync_states st ON st.address_id = ua.address_id
LEFT JOIN sync_states s ON s.address_id = ua.address_id AND ua.revealed
LEFT JOIN sync_states q ON q.address_id = ua.address_id AND (ua.revealed OR q.queued_at >= ua.created_at)
LEFT JOIN address_totals b ON b.address_id = ua.address_id AND ua.revealed;

-- +goose Down
DROP INDEX ledger_entries_siblings_idx;
DROP VIEW user_address_summaries;
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
DROP VIEW ledger_aggregate_differences;
DROP TRIGGER ledger_aggregates_delete ON ledger_entries;
DROP TRIGGER ledger_aggregates_update ON ledger_entries;
DROP TRIGGER ledger_aggregates_insert ON ledger_entries;
DROP FUNCTION ledger_aggregates_follow();
DROP FUNCTION ledger_aggregates_add(ledger_change[]);
DROP TYPE ledger_change;
DROP TABLE address_days;
DROP TABLE address_totals;
