-- +goose Up
-- ledger_repeats_follow (migration 00023) counted each (user, transaction)
-- pair's rows in a scalar subquery it used twice: PostgreSQL planned it
-- twice, and each plan walked all of the user's watch-list entries probing
-- the ledger per entry: 25 ms for the 1,450 pairs of a bench fixture
-- batch with fresh statistics, 212 ms with the stale ones of a ledger
-- filling up. Same arithmetic, one primary-key lookup per pair: 9 ms.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_repeats_follow() RETURNS trigger
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
    -- k: the transaction's rows counting now at the user's revealed
    -- entries, read from the transaction's few rows (the primary key's
    -- prefix) and checked against the watch-list's unique key. An
    -- aggregate in LATERAL is computed once per (user, transaction); as a
    -- scalar subquery used twice it was planned twice, each walking all of
    -- the user's entries.
    INSERT INTO user_totals AS t (user_id, repeats)
    SELECT p.user_id, sum(greatest(c.k - 1, 0) - greatest(c.k - p.d - 1, 0))
    FROM (
        SELECT ua.user_id, m.transaction_id, sum(m.d) AS d
        FROM unnest(moved) m
        JOIN user_addresses ua ON ua.address_id = m.address_id AND ua.revealed
        GROUP BY 1, 2
    ) p
    CROSS JOIN LATERAL (
        SELECT count(*) AS k FROM ledger_entries l
        WHERE l.transaction_id = p.transaction_id AND l.status IN ('confirmed', 'pending')
          AND EXISTS (SELECT 1 FROM user_addresses ua
                      WHERE ua.user_id = p.user_id AND ua.address_id = l.address_id AND ua.revealed)
    ) c
    JOIN users u ON u.id = p.user_id
    GROUP BY p.user_id
    ORDER BY p.user_id
    ON CONFLICT (user_id) DO UPDATE SET repeats = t.repeats + EXCLUDED.repeats
    WHERE EXCLUDED.repeats <> 0;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_repeats_follow() RETURNS trigger
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
