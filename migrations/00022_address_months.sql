-- +goose Up
-- The balance history reads each entry's movements per UTC day from
-- address_days (00018): on the bench data the heavy user's 50 addresses
-- have 120k days, and a monthly history of them cost 135 ms, most of it
-- fetching the days from the heap. address_months keeps the same sums per
-- month (the months of the days, so the two agree by construction), kept
-- by ledger_aggregates_add in the same statement as the days, and the
-- monthly history reads it: 40 rows per address-year instead of 365. Both
-- keys now carry net_sats, so the history reads them as index-only scans.
ALTER TABLE address_days DROP CONSTRAINT address_days_pkey;
ALTER TABLE address_days ADD CONSTRAINT address_days_pkey PRIMARY KEY (address_id, day) INCLUDE (net_sats);

CREATE TABLE address_months (
    address_id bigint NOT NULL REFERENCES addresses (id) ON DELETE CASCADE,
    month date NOT NULL CHECK (month = date_trunc('month', month::timestamp)::date),
    net_sats bigint NOT NULL,
    tx_count bigint NOT NULL,
    CONSTRAINT address_months_pkey PRIMARY KEY (address_id, month) INCLUDE (net_sats)
);

COMMENT ON TABLE address_months IS 'Net movement and transaction count of each address per UTC month, kept with address_days.';

INSERT INTO address_months (address_id, month, net_sats, tx_count)
SELECT address_id, date_trunc('month', day::timestamp)::date, sum(net_sats), sum(tx_count)
FROM address_days
GROUP BY 1, 2;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_aggregates_add(changes ledger_change[]) RETURNS void
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

    INSERT INTO address_months AS m (address_id, month, net_sats, tx_count)
    SELECT c.address_id, date_trunc('month', c.sort_time AT TIME ZONE 'UTC')::date, sum(c.sign * c.net_sats), sum(c.sign)
    FROM unnest(changes) c
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (address_id, month) DO UPDATE SET
        net_sats = m.net_sats + EXCLUDED.net_sats,
        tx_count = m.tx_count + EXCLUDED.tx_count;

    DELETE FROM address_months m
    USING (SELECT DISTINCT c.address_id, date_trunc('month', c.sort_time AT TIME ZONE 'UTC')::date AS month
           FROM unnest(changes) c WHERE c.sign < 0) gone
    WHERE m.address_id = gone.address_id AND m.month = gone.month AND m.tx_count = 0;
$$;
-- +goose StatementEnd

DROP VIEW ledger_aggregate_differences;
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
    ), months AS (
        SELECT address_id, date_trunc('month', day::timestamp)::date AS month, sum(net_sats) AS net_sats, sum(tx_count) AS tx_count
        FROM days
        GROUP BY 1, 2
    )
    SELECT 'totals'::text AS aggregate, totals.address_id, NULL::date AS day, totals.stored, totals.computed
    FROM totals WHERE totals.stored IS DISTINCT FROM totals.computed
    UNION ALL
    SELECT 'day', coalesce(c.address_id, d.address_id), coalesce(c.day, d.day),
           ROW(d.net_sats, d.tx_count)::text, ROW(c.net_sats, c.tx_count)::text
    FROM days c
    FULL JOIN address_days d ON d.address_id = c.address_id AND d.day = c.day
    WHERE (d.net_sats, d.tx_count) IS DISTINCT FROM (c.net_sats, c.tx_count)
    UNION ALL
    SELECT 'month', coalesce(c.address_id, m.address_id), coalesce(c.month, m.month),
           ROW(m.net_sats, m.tx_count)::text, ROW(c.net_sats, c.tx_count)::text
    FROM months c
    FULL JOIN address_months m ON m.address_id = c.address_id AND m.month = c.month
    WHERE (m.net_sats, m.tx_count) IS DISTINCT FROM (c.net_sats, c.tx_count);

-- +goose Down
DROP VIEW ledger_aggregate_differences;
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

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_aggregates_add(changes ledger_change[]) RETURNS void
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

DROP TABLE address_months;
ALTER TABLE address_days DROP CONSTRAINT address_days_pkey;
ALTER TABLE address_days ADD CONSTRAINT address_days_pkey PRIMARY KEY (address_id, day);
