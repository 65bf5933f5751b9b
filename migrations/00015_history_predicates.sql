-- +goose Up
-- The history queries (queries/history.sql) read two index ranges per
-- watch-list entry, newest or oldest first, and each range applies the
-- same filters and the same "self transfer" test. These functions write
-- each of those once. All are plain SQL functions that PostgreSQL inlines
-- into the calling query, so the plans are the plans of the text they
-- replace (db/history_test.go checks that no call survives in a plan):
-- history_row_matches is a single expression that uses its subquery
-- argument once, and ledger_other_tracked is a set-returning function
-- called in FROM.

-- ledger_other_tracked lists the entries of a transaction at the user's
-- other tracked addresses: the transaction moved coins between two of the
-- user's addresses when there is one. The history queries call it only
-- for entries flagged has_siblings (migration 00012), so most rows never
-- probe. It probes the transaction's entries (ledger_entries_pkey) and
-- then the user's watch-list (user_addresses_user_id_address_id_key);
-- OFFSET 0 keeps the planner from turning that into a join that reads
-- the whole watch-list for every row.
-- +goose StatementBegin
CREATE FUNCTION ledger_other_tracked(user_id bigint, transaction_id bigint, address_id bigint)
RETURNS TABLE (other_address_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT o.address_id
    FROM ledger_entries o
    WHERE o.transaction_id = ledger_other_tracked.transaction_id
      AND o.address_id <> ledger_other_tracked.address_id
      AND EXISTS (SELECT 1 FROM user_addresses uo
                  WHERE uo.user_id = ledger_other_tracked.user_id AND uo.address_id = o.address_id OFFSET 0)
$$;
-- +goose StatementEnd

-- history_row_matches is the history filters (SPEC §4) applied to one
-- ledger row: sort_time in [from_time, to_time), a status among statuses,
-- the absolute net amount in [min_amount, max_amount], and the direction
-- ('' = any): "self" when self_transfer, otherwise "incoming" when the
-- address gained and "outgoing" when it lost. self_transfer is evaluated
-- only when a direction other than any is asked for (AND stops early).
-- +goose StatementBegin
CREATE FUNCTION history_row_matches(
    sort_time timestamptz, status text, net_sats bigint, self_transfer boolean,
    from_time timestamptz, to_time timestamptz, statuses text[],
    min_amount bigint, max_amount bigint, direction text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT sort_time >= from_time AND sort_time < to_time
       AND status = ANY (statuses)
       AND (net_sats BETWEEN min_amount AND max_amount OR net_sats BETWEEN -max_amount AND -min_amount)
       AND (direction = ''
            OR ((direction = 'self' OR (direction = 'incoming') = (net_sats > 0))
                AND (direction = 'self') = self_transfer))
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION history_row_matches(timestamptz, text, bigint, boolean, timestamptz, timestamptz, text[], bigint, bigint, text);
DROP FUNCTION ledger_other_tracked(bigint, bigint, bigint);
