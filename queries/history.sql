-- Transaction history across a user's watch-list (GET /v1/transactions,
-- GET /v1/addresses/{id}/transactions and the CSV export).
--
-- Each watch-list entry contributes at most max_rows rows from its own
-- range of ledger_entries_history_idx (a LATERAL top-N), and the merged,
-- re-sorted first max_rows rows are the page. Keyset pagination: the
-- cursor is the last row's sort key (unconfirmed, sort_time, sort_height,
-- txid) plus its watch-list entry id, which breaks ties between two rows of
-- one transaction (a transfer between two of the user's addresses). Page
-- 10,000 costs what page 1 costs, and rows arriving between pages can
-- neither be skipped nor repeated: they sort before the cursor or after it.
--
-- Pending rows (few, in the mempool) and confirmed rows are read by two
-- index range scans, each with its own bound from the cursor (the caller
-- passes an open bound for a group the cursor has not reached, and closes
-- a group it has passed with a one-time filter), so every scan starts at
-- its position in the index, and "from" and "to" bound it by sort_time
-- instead of filtering a whole history. Filters: entry id range (one
-- address or all), statuses, direction ('' = any), sort_time in [from, to),
-- absolute net amount in [min, max].
--
-- Rows carry no nullable block columns: a row is unconfirmed exactly when
-- its transaction has no block, and then sort_height and sort_time are its
-- block height and time (api/history.go reads them back), which spares
-- scanning two nullable columns into pointers for every row. Likewise
-- close_usd_cents is 0 when the day has no price (a stored price is
-- positive, prices_close_usd_cents_check), as in the balance queries.
--
-- Direction, as the user sees a row: "self" when the transaction also
-- touches another address on the user's watch-list (coins moved between
-- the user's own addresses), otherwise "incoming" when the address gained
-- and "outgoing" when it lost. The self check runs only for entries whose
-- transaction has entries at other addresses (has_siblings, carried in the
-- history index; see migration 00012), and then probes those entries
-- (ledger_entries_pkey) and the user's watch-list
-- (user_addresses_user_id_address_id_key); CASE evaluates the probe only
-- when the flag is set, so most rows never probe. OFFSET 0
-- keeps the planner from turning that into a join that reads the whole
-- watch-list for every row. It is written
-- out rather than put in a function because PostgreSQL cannot inline a
-- function with a sub-select, and it runs only for rows a direction filter
-- must judge and for the rows of the final page. Rows carry the check's
-- answer as self_transfer and api/history.go names the direction from it
-- and the sign of net_sats, so no direction string is built per row.

-- name: TransactionHistoryNewest :many
-- TransactionHistoryNewest returns a page newest first: pending rows by
-- first seen, then confirmed rows by block time, height and txid, all
-- descending; ties between entries by entry id, descending.
SELECT
    h.entry_id AS address_id,
    a.address,
    h.txid,
    h.status,
    CASE WHEN h.has_siblings
         THEN EXISTS (SELECT 1 FROM ledger_entries o
                      WHERE o.transaction_id = h.transaction_id AND o.address_id <> h.address_id
                        AND EXISTS (SELECT 1 FROM user_addresses uo
                                    WHERE uo.user_id = h.user_id AND uo.address_id = o.address_id OFFSET 0))
         ELSE false END AS self_transfer,
    h.received_sats,
    h.sent_sats,
    h.net_sats,
    t.first_seen,
    h.unconfirmed,
    h.sort_time,
    h.sort_height,
    t.fee_sats,
    h.fee_share_sats,
    (CASE WHEN t.block_height IS NULL THEN 0
          ELSE greatest(coalesce(ct.height, t.block_height) - t.block_height + 1, 1) END)::integer AS confirmations,
    coalesce(p.close_usd_cents, 0)::bigint AS close_usd_cents
FROM (
    -- The page itself: only its rows are then joined to the tables below.
    SELECT ua.id AS entry_id, ua.user_id, h.*
    FROM user_addresses ua
    CROSS JOIN LATERAL (
        SELECT * FROM (
            (SELECT le.address_id, le.transaction_id, le.txid, le.status, le.received_sats, le.sent_sats,
                    le.net_sats, le.fee_share_sats, le.has_siblings, le.unconfirmed, le.sort_time, le.sort_height
             FROM ledger_entries le
             WHERE le.address_id = ua.address_id
               AND le.unconfirmed
               AND @pending_open::boolean
               AND (le.sort_time, le.sort_height, le.txid)
                   <= (@pending_time::timestamptz, @pending_height::integer, @pending_txid::bytea)
               AND ((le.sort_time, le.sort_height, le.txid)
                   < (@pending_time::timestamptz, @pending_height::integer, @pending_txid::bytea)
                   OR ua.id < @pending_entry_id::bigint)
               AND le.sort_time >= @from_time::timestamptz AND le.sort_time < @to_time::timestamptz
               AND le.status = ANY (@statuses::text[])
               AND (le.net_sats BETWEEN @min_amount::bigint AND @max_amount::bigint
                    OR le.net_sats BETWEEN -(@max_amount::bigint) AND -(@min_amount::bigint))
               AND (@direction::text = ''
                   OR ((@direction::text = 'self' OR (@direction::text = 'incoming') = (le.net_sats > 0))
                       AND (@direction::text = 'self') = (CASE WHEN le.has_siblings THEN EXISTS (
                           SELECT 1 FROM ledger_entries o
                           WHERE o.transaction_id = le.transaction_id AND o.address_id <> le.address_id
                             AND EXISTS (SELECT 1 FROM user_addresses uo
                                         WHERE uo.user_id = ua.user_id AND uo.address_id = o.address_id OFFSET 0))
                           ELSE false END)))
             ORDER BY le.sort_time DESC, le.sort_height DESC, le.txid DESC
             LIMIT @max_rows::integer)
            UNION ALL
            (SELECT le.address_id, le.transaction_id, le.txid, le.status, le.received_sats, le.sent_sats,
                    le.net_sats, le.fee_share_sats, le.has_siblings, le.unconfirmed, le.sort_time, le.sort_height
             FROM ledger_entries le
             WHERE le.address_id = ua.address_id
               AND NOT le.unconfirmed
               AND @confirmed_open::boolean
               AND (le.sort_time, le.sort_height, le.txid)
                   <= (@confirmed_time::timestamptz, @confirmed_height::integer, @confirmed_txid::bytea)
               AND ((le.sort_time, le.sort_height, le.txid)
                   < (@confirmed_time::timestamptz, @confirmed_height::integer, @confirmed_txid::bytea)
                   OR ua.id < @confirmed_entry_id::bigint)
               AND le.sort_time >= @from_time::timestamptz AND le.sort_time < @to_time::timestamptz
               AND le.status = ANY (@statuses::text[])
               AND (le.net_sats BETWEEN @min_amount::bigint AND @max_amount::bigint
                    OR le.net_sats BETWEEN -(@max_amount::bigint) AND -(@min_amount::bigint))
               AND (@direction::text = ''
                   OR ((@direction::text = 'self' OR (@direction::text = 'incoming') = (le.net_sats > 0))
                       AND (@direction::text = 'self') = (CASE WHEN le.has_siblings THEN EXISTS (
                           SELECT 1 FROM ledger_entries o
                           WHERE o.transaction_id = le.transaction_id AND o.address_id <> le.address_id
                             AND EXISTS (SELECT 1 FROM user_addresses uo
                                         WHERE uo.user_id = ua.user_id AND uo.address_id = o.address_id OFFSET 0))
                           ELSE false END)))
             ORDER BY le.sort_time DESC, le.sort_height DESC, le.txid DESC
             LIMIT @max_rows::integer)
        ) both_groups
        ORDER BY unconfirmed DESC, sort_time DESC, sort_height DESC, txid DESC
        LIMIT @max_rows::integer
    ) h
    WHERE ua.user_id = @user_id
      AND ua.id BETWEEN @min_entry_id::bigint AND @max_entry_id::bigint
    ORDER BY h.unconfirmed DESC, h.sort_time DESC, h.sort_height DESC, h.txid DESC, ua.id DESC
    LIMIT @max_rows::integer
) h
JOIN addresses a ON a.id = h.address_id
LEFT JOIN chain_tips ct ON ct.network = a.network
JOIN transactions t ON t.id = h.transaction_id
-- The day's close (block time, or first seen while pending) for the fiat
-- value; no price, no value.
LEFT JOIN prices p ON p.day = (h.sort_time AT TIME ZONE 'UTC')::date
ORDER BY h.unconfirmed DESC, h.sort_time DESC, h.sort_height DESC, h.txid DESC, h.entry_id DESC;

-- name: TransactionHistoryOldest :many
-- TransactionHistoryOldest is the exact reverse of
-- TransactionHistoryNewest: confirmed rows oldest first, then pending.
SELECT
    h.entry_id AS address_id,
    a.address,
    h.txid,
    h.status,
    CASE WHEN h.has_siblings
         THEN EXISTS (SELECT 1 FROM ledger_entries o
                      WHERE o.transaction_id = h.transaction_id AND o.address_id <> h.address_id
                        AND EXISTS (SELECT 1 FROM user_addresses uo
                                    WHERE uo.user_id = h.user_id AND uo.address_id = o.address_id OFFSET 0))
         ELSE false END AS self_transfer,
    h.received_sats,
    h.sent_sats,
    h.net_sats,
    t.first_seen,
    h.unconfirmed,
    h.sort_time,
    h.sort_height,
    t.fee_sats,
    h.fee_share_sats,
    (CASE WHEN t.block_height IS NULL THEN 0
          ELSE greatest(coalesce(ct.height, t.block_height) - t.block_height + 1, 1) END)::integer AS confirmations,
    coalesce(p.close_usd_cents, 0)::bigint AS close_usd_cents
FROM (
    -- The page itself: only its rows are then joined to the tables below.
    SELECT ua.id AS entry_id, ua.user_id, h.*
    FROM user_addresses ua
    CROSS JOIN LATERAL (
        SELECT * FROM (
            (SELECT le.address_id, le.transaction_id, le.txid, le.status, le.received_sats, le.sent_sats,
                    le.net_sats, le.fee_share_sats, le.has_siblings, le.unconfirmed, le.sort_time, le.sort_height
             FROM ledger_entries le
             WHERE le.address_id = ua.address_id
               AND NOT le.unconfirmed
               AND @confirmed_open::boolean
               AND (le.sort_time, le.sort_height, le.txid)
                   >= (@confirmed_time::timestamptz, @confirmed_height::integer, @confirmed_txid::bytea)
               AND ((le.sort_time, le.sort_height, le.txid)
                   > (@confirmed_time::timestamptz, @confirmed_height::integer, @confirmed_txid::bytea)
                   OR ua.id > @confirmed_entry_id::bigint)
               AND le.sort_time >= @from_time::timestamptz AND le.sort_time < @to_time::timestamptz
               AND le.status = ANY (@statuses::text[])
               AND (le.net_sats BETWEEN @min_amount::bigint AND @max_amount::bigint
                    OR le.net_sats BETWEEN -(@max_amount::bigint) AND -(@min_amount::bigint))
               AND (@direction::text = ''
                   OR ((@direction::text = 'self' OR (@direction::text = 'incoming') = (le.net_sats > 0))
                       AND (@direction::text = 'self') = (CASE WHEN le.has_siblings THEN EXISTS (
                           SELECT 1 FROM ledger_entries o
                           WHERE o.transaction_id = le.transaction_id AND o.address_id <> le.address_id
                             AND EXISTS (SELECT 1 FROM user_addresses uo
                                         WHERE uo.user_id = ua.user_id AND uo.address_id = o.address_id OFFSET 0))
                           ELSE false END)))
             ORDER BY le.sort_time ASC, le.sort_height ASC, le.txid ASC
             LIMIT @max_rows::integer)
            UNION ALL
            (SELECT le.address_id, le.transaction_id, le.txid, le.status, le.received_sats, le.sent_sats,
                    le.net_sats, le.fee_share_sats, le.has_siblings, le.unconfirmed, le.sort_time, le.sort_height
             FROM ledger_entries le
             WHERE le.address_id = ua.address_id
               AND le.unconfirmed
               AND @pending_open::boolean
               AND (le.sort_time, le.sort_height, le.txid)
                   >= (@pending_time::timestamptz, @pending_height::integer, @pending_txid::bytea)
               AND ((le.sort_time, le.sort_height, le.txid)
                   > (@pending_time::timestamptz, @pending_height::integer, @pending_txid::bytea)
                   OR ua.id > @pending_entry_id::bigint)
               AND le.sort_time >= @from_time::timestamptz AND le.sort_time < @to_time::timestamptz
               AND le.status = ANY (@statuses::text[])
               AND (le.net_sats BETWEEN @min_amount::bigint AND @max_amount::bigint
                    OR le.net_sats BETWEEN -(@max_amount::bigint) AND -(@min_amount::bigint))
               AND (@direction::text = ''
                   OR ((@direction::text = 'self' OR (@direction::text = 'incoming') = (le.net_sats > 0))
                       AND (@direction::text = 'self') = (CASE WHEN le.has_siblings THEN EXISTS (
                           SELECT 1 FROM ledger_entries o
                           WHERE o.transaction_id = le.transaction_id AND o.address_id <> le.address_id
                             AND EXISTS (SELECT 1 FROM user_addresses uo
                                         WHERE uo.user_id = ua.user_id AND uo.address_id = o.address_id OFFSET 0))
                           ELSE false END)))
             ORDER BY le.sort_time ASC, le.sort_height ASC, le.txid ASC
             LIMIT @max_rows::integer)
        ) both_groups
        ORDER BY unconfirmed ASC, sort_time ASC, sort_height ASC, txid ASC
        LIMIT @max_rows::integer
    ) h
    WHERE ua.user_id = @user_id
      AND ua.id BETWEEN @min_entry_id::bigint AND @max_entry_id::bigint
    ORDER BY h.unconfirmed ASC, h.sort_time ASC, h.sort_height ASC, h.txid ASC, ua.id ASC
    LIMIT @max_rows::integer
) h
JOIN addresses a ON a.id = h.address_id
LEFT JOIN chain_tips ct ON ct.network = a.network
JOIN transactions t ON t.id = h.transaction_id
-- The day's close (block time, or first seen while pending) for the fiat
-- value; no price, no value.
LEFT JOIN prices p ON p.day = (h.sort_time AT TIME ZONE 'UTC')::date
ORDER BY h.unconfirmed ASC, h.sort_time ASC, h.sort_height ASC, h.txid ASC, h.entry_id ASC;

-- name: TransactionHistoryByTxid :many
-- TransactionHistoryByTxid serves the txid filter: the user's rows of one
-- transaction, found through transactions_network_txid_key and the ledger's
-- primary key rather than by scanning histories. They are few (one per
-- tracked address the transaction touches), so the caller orders them and
-- applies the page cursor.
SELECT
    ua.id AS address_id,
    a.address,
    h.txid,
    h.status,
    CASE WHEN h.has_siblings
         THEN EXISTS (SELECT 1 FROM ledger_entries o
                      JOIN user_addresses uo ON uo.address_id = o.address_id AND uo.user_id = ua.user_id
                      WHERE o.transaction_id = h.transaction_id AND o.address_id <> h.address_id)
         ELSE false END AS self_transfer,
    h.received_sats,
    h.sent_sats,
    h.net_sats,
    t.first_seen,
    h.unconfirmed,
    h.sort_time,
    h.sort_height,
    t.fee_sats,
    h.fee_share_sats,
    (CASE WHEN t.block_height IS NULL THEN 0
          ELSE greatest(coalesce(ct.height, t.block_height) - t.block_height + 1, 1) END)::integer AS confirmations,
    coalesce(p.close_usd_cents, 0)::bigint AS close_usd_cents
FROM transactions t
JOIN ledger_entries h ON h.transaction_id = t.id
JOIN user_addresses ua ON ua.address_id = h.address_id AND ua.user_id = @user_id
JOIN addresses a ON a.id = ua.address_id
LEFT JOIN chain_tips ct ON ct.network = a.network
LEFT JOIN prices p ON p.day = (h.sort_time AT TIME ZONE 'UTC')::date
WHERE t.network IN ('mainnet', 'testnet', 'signet', 'regtest')
  AND t.txid = @txid
  AND ua.id BETWEEN @min_entry_id::bigint AND @max_entry_id::bigint
  AND h.sort_time >= @from_time::timestamptz AND h.sort_time < @to_time::timestamptz
  AND h.status = ANY (@statuses::text[])
  AND (h.net_sats BETWEEN @min_amount::bigint AND @max_amount::bigint
       OR h.net_sats BETWEEN -(@max_amount::bigint) AND -(@min_amount::bigint))
  AND (@direction::text = ''
               OR ((@direction::text = 'self' OR (@direction::text = 'incoming') = (h.net_sats > 0))
                   AND (@direction::text = 'self') = (CASE WHEN h.has_siblings
                       THEN EXISTS (SELECT 1 FROM ledger_entries o
                                    JOIN user_addresses uo ON uo.address_id = o.address_id AND uo.user_id = ua.user_id
                                    WHERE o.transaction_id = h.transaction_id AND o.address_id <> h.address_id)
                       ELSE false END)));
