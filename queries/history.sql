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
-- index range scans, so "from" and "to" bound each scan by sort_time
-- instead of filtering a whole history. Filters: entry id range (one
-- address or all), statuses, direction ('' = any), sort_time in [from, to),
-- absolute net amount in [min, max].

-- name: TransactionHistoryNewest :many
-- TransactionHistoryNewest returns a page newest first: pending rows by
-- first seen, then confirmed rows by block time, height and txid, all
-- descending; ties between entries by entry id, descending.
SELECT
    ua.id AS address_id,
    a.address,
    h.transaction_id,
    h.txid,
    h.status,
    h.direction,
    h.received_sats,
    h.sent_sats,
    h.net_sats,
    h.block_height,
    h.block_time,
    h.first_seen,
    h.unconfirmed,
    h.sort_time,
    h.sort_height,
    t.fee_sats,
    (CASE WHEN h.block_height IS NULL THEN 0
          ELSE greatest(coalesce(ct.height, h.block_height) - h.block_height + 1, 1) END)::integer AS confirmations,
    p.close_usd_cents
FROM user_addresses ua
JOIN addresses a ON a.id = ua.address_id
LEFT JOIN chain_tips ct ON ct.network = a.network
CROSS JOIN LATERAL (
    SELECT * FROM (
        (SELECT le.transaction_id, le.txid, le.status, le.received_sats, le.sent_sats, le.net_sats,
                le.block_height, le.block_time, le.first_seen, le.unconfirmed, le.sort_time, le.sort_height,
                ledger_direction(ua.user_id, le.transaction_id, le.address_id, le.net_sats) AS direction
         FROM ledger_entries le
         WHERE le.address_id = ua.address_id
           AND le.unconfirmed
           AND le.sort_time >= @from_time::timestamptz AND le.sort_time < @to_time::timestamptz
           AND (le.unconfirmed, le.sort_time, le.sort_height, le.txid)
               <= (@cursor_unconfirmed::boolean, @cursor_time::timestamptz, @cursor_height::integer, @cursor_txid::bytea)
           AND ((le.unconfirmed, le.sort_time, le.sort_height, le.txid)
               < (@cursor_unconfirmed::boolean, @cursor_time::timestamptz, @cursor_height::integer, @cursor_txid::bytea)
               OR ua.id < @cursor_entry_id::bigint)
           AND le.status = ANY (@statuses::text[])
           AND abs(le.net_sats) BETWEEN @min_amount::bigint AND @max_amount::bigint
           AND (@direction::text = ''
               OR @direction::text = ledger_direction(ua.user_id, le.transaction_id, le.address_id, le.net_sats))
         ORDER BY le.sort_time DESC, le.sort_height DESC, le.txid DESC
         LIMIT @max_rows::integer)
        UNION ALL
        (SELECT le.transaction_id, le.txid, le.status, le.received_sats, le.sent_sats, le.net_sats,
                le.block_height, le.block_time, le.first_seen, le.unconfirmed, le.sort_time, le.sort_height,
                ledger_direction(ua.user_id, le.transaction_id, le.address_id, le.net_sats) AS direction
         FROM ledger_entries le
         WHERE le.address_id = ua.address_id
           AND NOT le.unconfirmed
           AND le.sort_time >= @from_time::timestamptz AND le.sort_time < @to_time::timestamptz
           AND (le.unconfirmed, le.sort_time, le.sort_height, le.txid)
               <= (@cursor_unconfirmed::boolean, @cursor_time::timestamptz, @cursor_height::integer, @cursor_txid::bytea)
           AND ((le.unconfirmed, le.sort_time, le.sort_height, le.txid)
               < (@cursor_unconfirmed::boolean, @cursor_time::timestamptz, @cursor_height::integer, @cursor_txid::bytea)
               OR ua.id < @cursor_entry_id::bigint)
           AND le.status = ANY (@statuses::text[])
           AND abs(le.net_sats) BETWEEN @min_amount::bigint AND @max_amount::bigint
           AND (@direction::text = ''
               OR @direction::text = ledger_direction(ua.user_id, le.transaction_id, le.address_id, le.net_sats))
         ORDER BY le.sort_time DESC, le.sort_height DESC, le.txid DESC
         LIMIT @max_rows::integer)
    ) both_groups
    ORDER BY unconfirmed DESC, sort_time DESC, sort_height DESC, txid DESC
    LIMIT @max_rows::integer
) h
JOIN transactions t ON t.id = h.transaction_id
-- The day's close (block time, or first seen while pending) for the fiat
-- value; no price, no value.
LEFT JOIN prices p ON p.day = (h.sort_time AT TIME ZONE 'UTC')::date
WHERE ua.user_id = @user_id
  AND ua.id BETWEEN @min_entry_id::bigint AND @max_entry_id::bigint
ORDER BY h.unconfirmed DESC, h.sort_time DESC, h.sort_height DESC, h.txid DESC, ua.id DESC
LIMIT @max_rows::integer;

-- name: TransactionHistoryOldest :many
-- TransactionHistoryOldest is the exact reverse of
-- TransactionHistoryNewest: confirmed rows oldest first, then pending.
SELECT
    ua.id AS address_id,
    a.address,
    h.transaction_id,
    h.txid,
    h.status,
    h.direction,
    h.received_sats,
    h.sent_sats,
    h.net_sats,
    h.block_height,
    h.block_time,
    h.first_seen,
    h.unconfirmed,
    h.sort_time,
    h.sort_height,
    t.fee_sats,
    (CASE WHEN h.block_height IS NULL THEN 0
          ELSE greatest(coalesce(ct.height, h.block_height) - h.block_height + 1, 1) END)::integer AS confirmations,
    p.close_usd_cents
FROM user_addresses ua
JOIN addresses a ON a.id = ua.address_id
LEFT JOIN chain_tips ct ON ct.network = a.network
CROSS JOIN LATERAL (
    SELECT * FROM (
        (SELECT le.transaction_id, le.txid, le.status, le.received_sats, le.sent_sats, le.net_sats,
                le.block_height, le.block_time, le.first_seen, le.unconfirmed, le.sort_time, le.sort_height,
                ledger_direction(ua.user_id, le.transaction_id, le.address_id, le.net_sats) AS direction
         FROM ledger_entries le
         WHERE le.address_id = ua.address_id
           AND NOT le.unconfirmed
           AND le.sort_time >= @from_time::timestamptz AND le.sort_time < @to_time::timestamptz
           AND (le.unconfirmed, le.sort_time, le.sort_height, le.txid)
               >= (@cursor_unconfirmed::boolean, @cursor_time::timestamptz, @cursor_height::integer, @cursor_txid::bytea)
           AND ((le.unconfirmed, le.sort_time, le.sort_height, le.txid)
               > (@cursor_unconfirmed::boolean, @cursor_time::timestamptz, @cursor_height::integer, @cursor_txid::bytea)
               OR ua.id > @cursor_entry_id::bigint)
           AND le.status = ANY (@statuses::text[])
           AND abs(le.net_sats) BETWEEN @min_amount::bigint AND @max_amount::bigint
           AND (@direction::text = ''
               OR @direction::text = ledger_direction(ua.user_id, le.transaction_id, le.address_id, le.net_sats))
         ORDER BY le.sort_time ASC, le.sort_height ASC, le.txid ASC
         LIMIT @max_rows::integer)
        UNION ALL
        (SELECT le.transaction_id, le.txid, le.status, le.received_sats, le.sent_sats, le.net_sats,
                le.block_height, le.block_time, le.first_seen, le.unconfirmed, le.sort_time, le.sort_height,
                ledger_direction(ua.user_id, le.transaction_id, le.address_id, le.net_sats) AS direction
         FROM ledger_entries le
         WHERE le.address_id = ua.address_id
           AND le.unconfirmed
           AND le.sort_time >= @from_time::timestamptz AND le.sort_time < @to_time::timestamptz
           AND (le.unconfirmed, le.sort_time, le.sort_height, le.txid)
               >= (@cursor_unconfirmed::boolean, @cursor_time::timestamptz, @cursor_height::integer, @cursor_txid::bytea)
           AND ((le.unconfirmed, le.sort_time, le.sort_height, le.txid)
               > (@cursor_unconfirmed::boolean, @cursor_time::timestamptz, @cursor_height::integer, @cursor_txid::bytea)
               OR ua.id > @cursor_entry_id::bigint)
           AND le.status = ANY (@statuses::text[])
           AND abs(le.net_sats) BETWEEN @min_amount::bigint AND @max_amount::bigint
           AND (@direction::text = ''
               OR @direction::text = ledger_direction(ua.user_id, le.transaction_id, le.address_id, le.net_sats))
         ORDER BY le.sort_time ASC, le.sort_height ASC, le.txid ASC
         LIMIT @max_rows::integer)
    ) both_groups
    ORDER BY unconfirmed ASC, sort_time ASC, sort_height ASC, txid ASC
    LIMIT @max_rows::integer
) h
JOIN transactions t ON t.id = h.transaction_id
-- The day's close (block time, or first seen while pending) for the fiat
-- value; no price, no value.
LEFT JOIN prices p ON p.day = (h.sort_time AT TIME ZONE 'UTC')::date
WHERE ua.user_id = @user_id
  AND ua.id BETWEEN @min_entry_id::bigint AND @max_entry_id::bigint
ORDER BY h.unconfirmed ASC, h.sort_time ASC, h.sort_height ASC, h.txid ASC, ua.id ASC
LIMIT @max_rows::integer;
