-- +goose Up
-- A user's daily balance series summed the address_days of every revealed
-- watch-list entry at each read: O(entries × days), 53 ms for the heavy
-- bench user's 120k address-days and 79 ms at the large scale. user_days
-- keeps the sum per user and day, so a daily or weekly series of the
-- whole watch-list reads O(days) rows. It is kept exact in the
-- transaction of each change, the way user_totals is (migration 00023):
--
-- * A ledger write moves address_days (ledger_aggregates_add) and then
--   the same per-day deltas of every user whose revealed entry watches a
--   written address.
-- * A watch-list change (an entry added revealed, revealed, or removed)
--   adds or subtracts the entry's address_days.
--
-- Both take the users' advisory locks (lock_users, in user order) before
-- they read, in a statement of their own (a fresh READ COMMITTED
-- snapshot); the ledger side locks every watcher, revealed or not. So an
-- entry revealed while its address is written sees the write or is seen
-- by it, never neither. tx_count (the rows behind the day) says when a
-- day has no rows left and its row goes, as address_days does.
CREATE TABLE user_days (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day date NOT NULL,
    net_sats bigint NOT NULL,
    tx_count bigint NOT NULL,
    -- The series reads (day, net_sats) by index-only scan.
    PRIMARY KEY (user_id, day) INCLUDE (net_sats)
);

COMMENT ON TABLE user_days IS 'Per-user, per-UTC-day net movement of the counted ledger entries at the user''s revealed watch-list entries: the sum of their address_days (migration 00026).';

-- +goose StatementBegin
CREATE FUNCTION user_days_add(changes ledger_change[]) RETURNS void
LANGUAGE sql VOLATILE AS $$
    SELECT lock_users(ARRAY(
        SELECT ua.user_id FROM user_addresses ua
        WHERE ua.address_id IN (SELECT c.address_id FROM unnest(changes) c)));

    INSERT INTO user_days AS u (user_id, day, net_sats, tx_count)
    SELECT ua.user_id, d.day, sum(d.net_sats), sum(d.tx_count)
    FROM (
        SELECT c.address_id, (c.sort_time AT TIME ZONE 'UTC')::date AS day,
               sum(c.sign * c.net_sats) AS net_sats, sum(c.sign) AS tx_count
        FROM unnest(changes) c
        GROUP BY 1, 2
    ) d
    JOIN user_addresses ua ON ua.address_id = d.address_id AND ua.revealed
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (user_id, day) DO UPDATE SET
        net_sats = u.net_sats + EXCLUDED.net_sats,
        tx_count = u.tx_count + EXCLUDED.tx_count;

    DELETE FROM user_days u
    USING (SELECT DISTINCT ua.user_id, (c.sort_time AT TIME ZONE 'UTC')::date AS day
           FROM unnest(changes) c
           JOIN user_addresses ua ON ua.address_id = c.address_id AND ua.revealed
           WHERE c.sign < 0) gone
    WHERE u.user_id = gone.user_id AND u.day = gone.day AND u.tx_count = 0;
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION user_days_add(ledger_change[]) IS 'Moves the user_days of every user watching the changed addresses (migration 00026).';

-- The ledger trigger moves the address aggregates, then the watchers'
-- days, with the same changes.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_aggregates_follow() RETURNS trigger
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
        PERFORM user_days_add(changes);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- A watch-list entry's address starting (d = 1) or stopping (d = -1) to
-- count for its user.
CREATE TYPE watch_move AS (user_id bigint, address_id bigint, d integer);

-- +goose StatementBegin
CREATE FUNCTION watch_list_days_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    moved watch_move[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        moved := ARRAY(SELECT ROW(n.user_id, n.address_id, 1)::watch_move FROM new_rows n WHERE n.revealed);
    ELSIF TG_OP = 'DELETE' THEN
        moved := ARRAY(SELECT ROW(o.user_id, o.address_id, -1)::watch_move FROM old_rows o WHERE o.revealed);
    ELSE
        moved := ARRAY(
            SELECT ROW(o.user_id, o.address_id, -1)::watch_move
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE o.revealed AND (NOT n.revealed OR (o.address_id, o.user_id) IS DISTINCT FROM (n.address_id, n.user_id))
            UNION ALL
            SELECT ROW(n.user_id, n.address_id, 1)::watch_move
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE n.revealed AND (NOT o.revealed OR (o.address_id, o.user_id) IS DISTINCT FROM (n.address_id, n.user_id)));
    END IF;
    IF cardinality(moved) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM lock_users(ARRAY(SELECT m.user_id FROM unnest(moved) m));
    INSERT INTO user_days AS u (user_id, day, net_sats, tx_count)
    SELECT m.user_id, d.day, sum(m.d * d.net_sats), sum(m.d * d.tx_count)
    FROM unnest(moved) m
    JOIN address_days d ON d.address_id = m.address_id
    JOIN users ON users.id = m.user_id -- a user deleted with the entry has no days to keep
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (user_id, day) DO UPDATE SET
        net_sats = u.net_sats + EXCLUDED.net_sats,
        tx_count = u.tx_count + EXCLUDED.tx_count;
    DELETE FROM user_days u
    WHERE u.user_id IN (SELECT m.user_id FROM unnest(moved) m WHERE m.d < 0)
      AND u.tx_count = 0;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION watch_list_days_follow() IS 'Adds or subtracts the address_days of watch-list entries revealed, added or removed to their users'' days (migration 00026).';

CREATE TRIGGER user_addresses_days_insert AFTER INSERT ON user_addresses
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION watch_list_days_follow();
CREATE TRIGGER user_addresses_days_update AFTER UPDATE ON user_addresses
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION watch_list_days_follow();
CREATE TRIGGER user_addresses_days_delete AFTER DELETE ON user_addresses
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION watch_list_days_follow();

INSERT INTO user_days (user_id, day, net_sats, tx_count)
SELECT ua.user_id, d.day, sum(d.net_sats), sum(d.tx_count)
FROM user_addresses ua
JOIN address_days d ON d.address_id = ua.address_id
WHERE ua.revealed
GROUP BY 1, 2;

DROP VIEW ledger_aggregate_differences;
-- Rows of kind 'repeats' and 'user day' name a user (in address_id), not
-- an address.
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
    ), users_days AS (
        SELECT ua.user_id, d.day, sum(d.net_sats) AS net_sats, sum(d.tx_count) AS tx_count
        FROM days d
        JOIN user_addresses ua ON ua.address_id = d.address_id AND ua.revealed
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
    WHERE (m.net_sats, m.tx_count) IS DISTINCT FROM (c.net_sats, c.tx_count)
    UNION ALL
    SELECT 'repeats', u.id, NULL::date, ROW(coalesce(t.repeats, 0))::text, ROW(user_repeats_of(u.id))::text
    FROM users u
    LEFT JOIN user_totals t ON t.user_id = u.id
    WHERE coalesce(t.repeats, 0) <> user_repeats_of(u.id)
    UNION ALL
    SELECT 'user day', coalesce(c.user_id, s.user_id), coalesce(c.day, s.day),
           ROW(s.net_sats, s.tx_count)::text, ROW(c.net_sats, c.tx_count)::text
    FROM users_days c
    FULL JOIN user_days s ON s.user_id = c.user_id AND s.day = c.day
    WHERE (s.net_sats, s.tx_count) IS DISTINCT FROM (c.net_sats, c.tx_count);

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
    WHERE (m.net_sats, m.tx_count) IS DISTINCT FROM (c.net_sats, c.tx_count)
    UNION ALL
    SELECT 'repeats', u.id, NULL::date, ROW(coalesce(t.repeats, 0))::text, ROW(user_repeats_of(u.id))::text
    FROM users u
    LEFT JOIN user_totals t ON t.user_id = u.id
    WHERE coalesce(t.repeats, 0) <> user_repeats_of(u.id);

DROP TRIGGER user_addresses_days_insert ON user_addresses;
DROP TRIGGER user_addresses_days_update ON user_addresses;
DROP TRIGGER user_addresses_days_delete ON user_addresses;
DROP FUNCTION watch_list_days_follow();
DROP TYPE watch_move;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_aggregates_follow() RETURNS trigger
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
DROP FUNCTION user_days_add(ledger_change[]);
DROP TABLE user_days;
