-- +goose Up
-- A user's transaction count counts a transaction at several of their
-- addresses once: the entries' stored counts (address_totals) less the
-- repeats, sum over transactions of (addresses of the user it touches -
-- 1). Until now GET /v1/balances recomputed the repeats from the user's
-- rows flagged has_siblings (10 ms for the heavy bench user, most of the
-- call). user_totals keeps them, exact, in the transaction of each change:
--
-- * A ledger write (sync page, status change, fixture batch, deletion)
--   changes the repeats of the users who watch the written addresses, for
--   the written transactions only: for each (user, transaction) the
--   statement made d more (or fewer) of its rows count at the user's
--   revealed entries, and with k of them counting now, the repeats move by
--   max(k-1, 0) - max(k-d-1, 0). Transactions at one address only (no
--   other row now or in the statement) cannot repeat and are skipped.
-- * A watch-list change (an entry added, revealed or removed) recounts the
--   user's repeats from their flagged rows (user_repeats_of).
--
-- Both take the user's transaction-scoped advisory lock, in user order,
-- before they read the counts, and read them in a statement of their own
-- (READ COMMITTED: a fresh snapshot), so concurrent writers of one user
-- take turns and each sees the other's committed rows; inserts of one
-- transaction already take turns in ledger_entries_mark_siblings.
CREATE TABLE user_totals (
    user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- No CHECK (repeats >= 0): an upsert checks the row it would insert,
    -- which for a decrease is the negative delta itself.
    repeats bigint NOT NULL DEFAULT 0
);

COMMENT ON TABLE user_totals IS 'Per-user aggregates of the watch-list as a whole: repeats is the count of extra rows of transactions at several of the user''s revealed entries.';

-- A row that started (d = 1) or stopped (d = -1) counting.
CREATE TYPE ledger_move AS (address_id bigint, transaction_id bigint, d integer);

-- +goose StatementBegin
CREATE FUNCTION user_repeats_of(uid bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) - count(DISTINCT l.transaction_id)
    FROM user_addresses ua
    CROSS JOIN LATERAL (
        SELECT l.transaction_id FROM ledger_entries l
        WHERE l.address_id = ua.address_id AND l.has_siblings AND l.status IN ('confirmed', 'pending')
    ) l
    WHERE ua.user_id = uid AND ua.revealed
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION user_repeats_of(bigint) IS 'Recounts a user''s repeats from the ledger (migration 00023).';

-- +goose StatementBegin
CREATE FUNCTION lock_users(uids bigint[]) RETURNS void
LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock(1970496882, (u % 2147483647)::integer)
    FROM (SELECT DISTINCT u FROM unnest(uids) u ORDER BY 1) users;
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION lock_users(bigint[]) IS 'Takes the users'' repeat locks in user order, to the end of the transaction (migration 00023).';

-- +goose StatementBegin
CREATE FUNCTION ledger_repeats_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    moved ledger_move[];
BEGIN
    -- The rows that started (+1) or stopped (-1) counting.
    IF TG_OP = 'INSERT' THEN
        moved := ARRAY(SELECT ROW(n.address_id, n.transaction_id, 1)::ledger_move
                       FROM new_rows n WHERE n.status IN ('confirmed', 'pending'));
    ELSIF TG_OP = 'DELETE' THEN
        moved := ARRAY(SELECT ROW(o.address_id, o.transaction_id, -1)::ledger_move
                       FROM old_rows o WHERE o.status IN ('confirmed', 'pending'));
    ELSE
        moved := ARRAY(SELECT ROW(n.address_id, n.transaction_id,
                                  (n.status IN ('confirmed', 'pending'))::integer
                                  - (o.status IN ('confirmed', 'pending'))::integer)::ledger_move
                       FROM old_rows o JOIN new_rows n USING (transaction_id, address_id)
                       WHERE (n.status IN ('confirmed', 'pending')) <> (o.status IN ('confirmed', 'pending')));
    END IF;
    -- Only transactions at several addresses can repeat: another row now,
    -- or another in the statement.
    moved := ARRAY(
        SELECT m FROM unnest(moved) m
        WHERE m.transaction_id IN (SELECT x.transaction_id FROM unnest(moved) x GROUP BY 1 HAVING count(*) > 1)
           OR EXISTS (SELECT 1 FROM ledger_entries o
                      WHERE o.transaction_id = m.transaction_id AND o.address_id <> m.address_id));
    IF cardinality(moved) = 0 THEN
        RETURN NULL;
    END IF;
    -- Every watcher, revealed or not: an entry revealed concurrently is
    -- seen once its transaction has committed, after this lock.
    PERFORM lock_users(ARRAY(SELECT ua.user_id FROM unnest(moved) m
                             JOIN user_addresses ua ON ua.address_id = m.address_id));
    INSERT INTO user_totals AS t (user_id, repeats)
    SELECT c.user_id, sum(greatest(c.k - 1, 0) - greatest(c.k - c.d - 1, 0))
    FROM (
        SELECT p.user_id, p.d,
               (SELECT count(*) FROM ledger_entries l
                JOIN user_addresses ua ON ua.address_id = l.address_id AND ua.user_id = p.user_id AND ua.revealed
                WHERE l.transaction_id = p.transaction_id AND l.status IN ('confirmed', 'pending')) AS k
        FROM (
            SELECT ua.user_id, m.transaction_id, sum(m.d) AS d
            FROM unnest(moved) m
            JOIN user_addresses ua ON ua.address_id = m.address_id AND ua.revealed
            GROUP BY 1, 2
        ) p
    ) c
    JOIN users u ON u.id = c.user_id
    GROUP BY c.user_id
    ORDER BY c.user_id
    ON CONFLICT (user_id) DO UPDATE SET repeats = t.repeats + EXCLUDED.repeats
    WHERE EXCLUDED.repeats <> 0;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION ledger_repeats_follow() IS 'Moves the repeats of the users watching the addresses a ledger statement wrote (migration 00023).';

-- +goose StatementBegin
CREATE FUNCTION watch_list_repeats_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    uids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        uids := ARRAY(SELECT n.user_id FROM new_rows n WHERE n.revealed);
    ELSIF TG_OP = 'DELETE' THEN
        uids := ARRAY(SELECT o.user_id FROM old_rows o WHERE o.revealed);
    ELSE
        uids := ARRAY(SELECT n.user_id FROM old_rows o JOIN new_rows n USING (id)
                      WHERE (o.revealed, o.address_id, o.user_id) IS DISTINCT FROM (n.revealed, n.address_id, n.user_id)
                      UNION ALL
                      SELECT o.user_id FROM old_rows o JOIN new_rows n USING (id)
                      WHERE o.user_id <> n.user_id);
    END IF;
    IF cardinality(uids) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM lock_users(uids);
    INSERT INTO user_totals AS t (user_id, repeats)
    SELECT u.id, user_repeats_of(u.id)
    FROM users u
    WHERE u.id IN (SELECT unnest(uids))
    ORDER BY u.id
    ON CONFLICT (user_id) DO UPDATE SET repeats = EXCLUDED.repeats
    WHERE t.repeats <> EXCLUDED.repeats;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

COMMENT ON FUNCTION watch_list_repeats_follow() IS 'Recounts the repeats of the users whose revealed watch-list a statement changed (migration 00023).';

CREATE TRIGGER ledger_repeats_insert AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_repeats_follow();
CREATE TRIGGER ledger_repeats_update AFTER UPDATE ON ledger_entries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_repeats_follow();
CREATE TRIGGER ledger_repeats_delete AFTER DELETE ON ledger_entries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_repeats_follow();

CREATE TRIGGER user_addresses_repeats_insert AFTER INSERT ON user_addresses
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION watch_list_repeats_follow();
CREATE TRIGGER user_addresses_repeats_update AFTER UPDATE ON user_addresses
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION watch_list_repeats_follow();
CREATE TRIGGER user_addresses_repeats_delete AFTER DELETE ON user_addresses
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION watch_list_repeats_follow();

INSERT INTO user_totals (user_id, repeats)
SELECT u.id, user_repeats_of(u.id) FROM users u;

DROP VIEW ledger_aggregate_differences;
-- Rows of kind 'repeats' name a user (in address_id), not an address.
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
    WHERE (m.net_sats, m.tx_count) IS DISTINCT FROM (c.net_sats, c.tx_count);

DROP TRIGGER user_addresses_repeats_insert ON user_addresses;
DROP TRIGGER user_addresses_repeats_update ON user_addresses;
DROP TRIGGER user_addresses_repeats_delete ON user_addresses;
DROP TRIGGER ledger_repeats_insert ON ledger_entries;
DROP TRIGGER ledger_repeats_update ON ledger_entries;
DROP TRIGGER ledger_repeats_delete ON ledger_entries;
DROP FUNCTION watch_list_repeats_follow();
DROP FUNCTION ledger_repeats_follow();
DROP TYPE ledger_move;
DROP FUNCTION lock_users(bigint[]);
DROP FUNCTION user_repeats_of(bigint);
DROP TABLE user_totals;
