-- Transaction history across a user's watch-list (GET /v1/transactions,
-- GET /v1/addresses/{id}/transactions, and the CSV export when it pages).
-- db.History is the one way in: it picks the query for the order asked
-- and fills its parameters. The export's own queries are at the end.
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
-- index range scans, each with its own bound from the cursor: "first" is
-- the group the order reads first (pending when newest first, confirmed
-- when oldest first), "second" the other. The caller passes an open bound
-- for a group the cursor has not reached, and closes a group it has passed
-- with a one-time filter, so every scan starts at its position in the
-- index, and "from" and "to" bound it by sort_time instead of filtering a
-- whole history. Each group is ordered by the whole sort key, its constant
-- unconfirmed (an equality, so the key stays the index's) included: the
-- planner then merges an entry's two groups (Merge Append) instead of
-- sorting both, and reads the second group only as far as the page needs.
-- When an entry's pending rows fill the page (an address with a full
-- mempool), its confirmed scan reads one row, not a page. The filters (entry id range, then history_row_matches:
-- time span, statuses, amount, direction) and the self-transfer test
-- (ledger_other_tracked, run only for entries flagged has_siblings) are
-- SQL functions of migration 00015 that PostgreSQL inlines, so each is
-- written once and the plans are those of the text they stand for. The
-- ORDER BY clauses stay literal: the planner reads the index forwards or
-- backwards from them.
--
-- Only revealed entries are read (migration 00016): an address another
-- user tracks shows no history before its own sync finished.
--
-- Rows carry no nullable block columns: a row is unconfirmed exactly when
-- its transaction has no block, and then sort_height and sort_time are its
-- block height and time, which spares scanning two nullable columns into
-- pointers for every row. Likewise close_usd_cents is 0 when the day has
-- no price (a stored price is positive, prices_close_usd_cents_check), as
-- in the balance queries. Rows carry the self-transfer test's answer as
-- self_transfer; the API names the direction from it and the sign of
-- net_sats.

-- name: TransactionHistoryNewest :many
-- TransactionHistoryNewest returns a page newest first: pending rows by
-- first seen, then confirmed rows by block time, height and txid, all
-- descending; ties between entries by entry id, descending. The first
-- group is the pending one.
SELECT
    h.entry_id AS address_id,
    a.address,
    h.txid,
    h.status,
    CASE WHEN h.has_siblings
         THEN EXISTS (SELECT 1 FROM ledger_other_tracked(h.user_id, h.transaction_id, h.address_id))
         ELSE false END AS self_transfer,
    h.received_sats,
    h.sent_sats,
    h.net_sats,
    h.first_seen,
    h.unconfirmed,
    h.sort_time,
    h.sort_height,
    h.fee_sats,
    h.fee_share_sats,
    (CASE WHEN h.unconfirmed THEN 0
          ELSE greatest(coalesce(ct.height, h.sort_height) - h.sort_height + 1, 1) END)::integer AS confirmations,
    coalesce(p.close_usd_cents, 0)::bigint AS close_usd_cents
FROM (
    -- The page itself: only its rows are then joined to the tables below.
    SELECT ua.id AS entry_id, ua.user_id, h.*
    FROM user_addresses ua
    CROSS JOIN LATERAL (
        SELECT * FROM (
            (SELECT le.address_id, le.transaction_id, le.txid, le.status, le.received_sats, le.sent_sats,
                    le.net_sats, le.fee_share_sats, le.has_siblings, le.unconfirmed, le.sort_time, le.sort_height,
                    le.first_seen, le.fee_sats
             FROM ledger_entries le
             WHERE le.address_id = ua.address_id
               AND le.unconfirmed = true
               AND @first_open::boolean
               AND (le.sort_time, le.sort_height, le.txid)
                   <= (@first_time::timestamptz, @first_height::integer, @first_txid::bytea)
               AND ((le.sort_time, le.sort_height, le.txid)
                   < (@first_time::timestamptz, @first_height::integer, @first_txid::bytea)
                   OR ua.id < @first_entry_id::bigint)
               AND history_row_matches(le.sort_time, le.status, le.net_sats,
                       CASE WHEN le.has_siblings
                            THEN EXISTS (SELECT 1 FROM ledger_other_tracked(ua.user_id, le.transaction_id, le.address_id))
                            ELSE false END,
                       @from_time::timestamptz, @to_time::timestamptz, @statuses::text[],
                       @min_amount::bigint, @max_amount::bigint, @direction::text)
             ORDER BY le.unconfirmed DESC, le.sort_time DESC, le.sort_height DESC, le.txid DESC
             LIMIT @max_rows::integer)
            UNION ALL
            (SELECT le.address_id, le.transaction_id, le.txid, le.status, le.received_sats, le.sent_sats,
                    le.net_sats, le.fee_share_sats, le.has_siblings, le.unconfirmed, le.sort_time, le.sort_height,
                    le.first_seen, le.fee_sats
             FROM ledger_entries le
             WHERE le.address_id = ua.address_id
               AND le.unconfirmed = false
               AND @second_open::boolean
               AND (le.sort_time, le.sort_height, le.txid)
                   <= (@second_time::timestamptz, @second_height::integer, @second_txid::bytea)
               AND ((le.sort_time, le.sort_height, le.txid)
                   < (@second_time::timestamptz, @second_height::integer, @second_txid::bytea)
                   OR ua.id < @second_entry_id::bigint)
               AND history_row_matches(le.sort_time, le.status, le.net_sats,
                       CASE WHEN le.has_siblings
                            THEN EXISTS (SELECT 1 FROM ledger_other_tracked(ua.user_id, le.transaction_id, le.address_id))
                            ELSE false END,
                       @from_time::timestamptz, @to_time::timestamptz, @statuses::text[],
                       @min_amount::bigint, @max_amount::bigint, @direction::text)
             ORDER BY le.unconfirmed DESC, le.sort_time DESC, le.sort_height DESC, le.txid DESC
             LIMIT @max_rows::integer)
        ) both_groups
        ORDER BY unconfirmed DESC, sort_time DESC, sort_height DESC, txid DESC
        LIMIT @max_rows::integer
    ) h
    WHERE ua.user_id = @user_id
      AND ua.id BETWEEN @min_entry_id::bigint AND @max_entry_id::bigint
      AND ua.revealed
    ORDER BY h.unconfirmed DESC, h.sort_time DESC, h.sort_height DESC, h.txid DESC, ua.id DESC
    LIMIT @max_rows::integer
) h
JOIN addresses a ON a.id = h.address_id
LEFT JOIN chain_tips ct ON ct.network = a.network
-- The day's close (block time, or first seen while pending) for the fiat
-- value; no price, no value.
LEFT JOIN prices p ON p.day = (h.sort_time AT TIME ZONE 'UTC')::date
ORDER BY h.unconfirmed DESC, h.sort_time DESC, h.sort_height DESC, h.txid DESC, h.entry_id DESC;

-- name: TransactionHistoryOldest :many
-- TransactionHistoryOldest is the exact reverse of
-- TransactionHistoryNewest: confirmed rows oldest first, then pending. The
-- first group is the confirmed one.
SELECT
    h.entry_id AS address_id,
    a.address,
    h.txid,
    h.status,
    CASE WHEN h.has_siblings
         THEN EXISTS (SELECT 1 FROM ledger_other_tracked(h.user_id, h.transaction_id, h.address_id))
         ELSE false END AS self_transfer,
    h.received_sats,
    h.sent_sats,
    h.net_sats,
    h.first_seen,
    h.unconfirmed,
    h.sort_time,
    h.sort_height,
    h.fee_sats,
    h.fee_share_sats,
    (CASE WHEN h.unconfirmed THEN 0
          ELSE greatest(coalesce(ct.height, h.sort_height) - h.sort_height + 1, 1) END)::integer AS confirmations,
    coalesce(p.close_usd_cents, 0)::bigint AS close_usd_cents
FROM (
    -- The page itself: only its rows are then joined to the tables below.
    SELECT ua.id AS entry_id, ua.user_id, h.*
    FROM user_addresses ua
    CROSS JOIN LATERAL (
        SELECT * FROM (
            (SELECT le.address_id, le.transaction_id, le.txid, le.status, le.received_sats, le.sent_sats,
                    le.net_sats, le.fee_share_sats, le.has_siblings, le.unconfirmed, le.sort_time, le.sort_height,
                    le.first_seen, le.fee_sats
             FROM ledger_entries le
             WHERE le.address_id = ua.address_id
               AND le.unconfirmed = false
               AND @first_open::boolean
               AND (le.sort_time, le.sort_height, le.txid)
                   >= (@first_time::timestamptz, @first_height::integer, @first_txid::bytea)
               AND ((le.sort_time, le.sort_height, le.txid)
                   > (@first_time::timestamptz, @first_height::integer, @first_txid::bytea)
                   OR ua.id > @first_entry_id::bigint)
               AND history_row_matches(le.sort_time, le.status, le.net_sats,
                       CASE WHEN le.has_siblings
                            THEN EXISTS (SELECT 1 FROM ledger_other_tracked(ua.user_id, le.transaction_id, le.address_id))
                            ELSE false END,
                       @from_time::timestamptz, @to_time::timestamptz, @statuses::text[],
                       @min_amount::bigint, @max_amount::bigint, @direction::text)
             ORDER BY le.unconfirmed ASC, le.sort_time ASC, le.sort_height ASC, le.txid ASC
             LIMIT @max_rows::integer)
            UNION ALL
            (SELECT le.address_id, le.transaction_id, le.txid, le.status, le.received_sats, le.sent_sats,
                    le.net_sats, le.fee_share_sats, le.has_siblings, le.unconfirmed, le.sort_time, le.sort_height,
                    le.first_seen, le.fee_sats
             FROM ledger_entries le
             WHERE le.address_id = ua.address_id
               AND le.unconfirmed = true
               AND @second_open::boolean
               AND (le.sort_time, le.sort_height, le.txid)
                   >= (@second_time::timestamptz, @second_height::integer, @second_txid::bytea)
               AND ((le.sort_time, le.sort_height, le.txid)
                   > (@second_time::timestamptz, @second_height::integer, @second_txid::bytea)
                   OR ua.id > @second_entry_id::bigint)
               AND history_row_matches(le.sort_time, le.status, le.net_sats,
                       CASE WHEN le.has_siblings
                            THEN EXISTS (SELECT 1 FROM ledger_other_tracked(ua.user_id, le.transaction_id, le.address_id))
                            ELSE false END,
                       @from_time::timestamptz, @to_time::timestamptz, @statuses::text[],
                       @min_amount::bigint, @max_amount::bigint, @direction::text)
             ORDER BY le.unconfirmed ASC, le.sort_time ASC, le.sort_height ASC, le.txid ASC
             LIMIT @max_rows::integer)
        ) both_groups
        ORDER BY unconfirmed ASC, sort_time ASC, sort_height ASC, txid ASC
        LIMIT @max_rows::integer
    ) h
    WHERE ua.user_id = @user_id
      AND ua.id BETWEEN @min_entry_id::bigint AND @max_entry_id::bigint
      AND ua.revealed
    ORDER BY h.unconfirmed ASC, h.sort_time ASC, h.sort_height ASC, h.txid ASC, ua.id ASC
    LIMIT @max_rows::integer
) h
JOIN addresses a ON a.id = h.address_id
LEFT JOIN chain_tips ct ON ct.network = a.network
-- The day's close (block time, or first seen while pending) for the fiat
-- value; no price, no value.
LEFT JOIN prices p ON p.day = (h.sort_time AT TIME ZONE 'UTC')::date
ORDER BY h.unconfirmed ASC, h.sort_time ASC, h.sort_height ASC, h.txid ASC, h.entry_id ASC;

-- name: TransactionHistoryByTxid :many
-- TransactionHistoryByTxid serves the txid filter: the user's rows of one
-- transaction, found through transactions_network_txid_key (one probe per
-- network the service knows) and the ledger's primary key rather than by
-- scanning histories. They are few (one per tracked address the
-- transaction touches), so db.History orders them and applies the cursor.
SELECT
    ua.id AS address_id,
    a.address,
    h.txid,
    h.status,
    CASE WHEN h.has_siblings
         THEN EXISTS (SELECT 1 FROM ledger_other_tracked(ua.user_id, h.transaction_id, h.address_id))
         ELSE false END AS self_transfer,
    h.received_sats,
    h.sent_sats,
    h.net_sats,
    h.first_seen,
    h.unconfirmed,
    h.sort_time,
    h.sort_height,
    h.fee_sats,
    h.fee_share_sats,
    (CASE WHEN h.unconfirmed THEN 0
          ELSE greatest(coalesce(ct.height, h.sort_height) - h.sort_height + 1, 1) END)::integer AS confirmations,
    coalesce(p.close_usd_cents, 0)::bigint AS close_usd_cents
FROM transactions t
JOIN ledger_entries h ON h.transaction_id = t.id
JOIN user_addresses ua ON ua.address_id = h.address_id AND ua.user_id = @user_id AND ua.revealed
JOIN addresses a ON a.id = ua.address_id
LEFT JOIN chain_tips ct ON ct.network = a.network
LEFT JOIN prices p ON p.day = (h.sort_time AT TIME ZONE 'UTC')::date
WHERE t.network = ANY (@networks::text[])
  AND t.txid = @txid
  AND ua.id BETWEEN @min_entry_id::bigint AND @max_entry_id::bigint
  AND history_row_matches(h.sort_time, h.status, h.net_sats,
          CASE WHEN h.has_siblings
               THEN EXISTS (SELECT 1 FROM ledger_other_tracked(ua.user_id, h.transaction_id, h.address_id))
               ELSE false END,
          @from_time::timestamptz, @to_time::timestamptz, @statuses::text[],
          @min_amount::bigint, @max_amount::bigint, @direction::text);

-- The CSV export (db.HistoryEach) reads the same rows as the pages, but
-- all of them: one server-side cursor per watch-list entry over the
-- queries below, each an ordered range of ledger_entries_history_idx read
-- as it is fetched (no sort, no transactions lookup), merged in Go in the
-- pages' order. One query over all entries would have to sort the user's
-- whole history before its first row.

-- name: HistoryExportEntries :many
-- HistoryExportEntries lists the revealed watch-list entries an export
-- reads, in id order, with the address each one tracks.
SELECT ua.id, ua.address_id
FROM user_addresses ua
WHERE ua.user_id = @user_id
  AND ua.id BETWEEN @min_entry_id::bigint AND @max_entry_id::bigint
  AND ua.revealed
ORDER BY ua.id;

-- name: HistoryExportNewest :many
-- HistoryExportNewest is one entry's filtered rows, newest first (the
-- order of TransactionHistoryNewest), from history_export_rows (migration
-- 00024). It is run through a cursor.
SELECT h.entry_id AS address_id, h.address, h.txid, h.status, h.self_transfer,
       h.received_sats, h.sent_sats, h.net_sats, h.first_seen, h.unconfirmed,
       h.sort_time, h.sort_height, h.fee_sats, h.fee_share_sats, h.confirmations,
       -- db.HistoryEach sets the day's close from the prices it read once: a
       -- probe of prices per row cost a quarter of the export, and a join
       -- would let the planner sort the entry's rows, so that the cursor
       -- delivered nothing until the whole range was read.
       0::bigint AS close_usd_cents
FROM history_export_rows h
-- The address is a parameter, not only the view's join: equal to a
-- constant, it lets the index's order be the query's, with no sort.
WHERE h.entry_id = @entry_id
  AND h.address_id = @address_id::bigint
  AND h.user_id = @user_id
  AND h.revealed
  AND history_row_matches(h.sort_time, h.status, h.net_sats, h.self_transfer,
          @from_time::timestamptz, @to_time::timestamptz, @statuses::text[],
          @min_amount::bigint, @max_amount::bigint, @direction::text)
ORDER BY h.unconfirmed DESC, h.sort_time DESC, h.sort_height DESC, h.txid DESC;

-- name: HistoryExportOldest :many
-- HistoryExportOldest is HistoryExportNewest in the exact reverse order.
SELECT h.entry_id AS address_id, h.address, h.txid, h.status, h.self_transfer,
       h.received_sats, h.sent_sats, h.net_sats, h.first_seen, h.unconfirmed,
       h.sort_time, h.sort_height, h.fee_sats, h.fee_share_sats, h.confirmations,
       -- db.HistoryEach sets the day's close from the prices it read once: a
       -- probe of prices per row cost a quarter of the export, and a join
       -- would let the planner sort the entry's rows, so that the cursor
       -- delivered nothing until the whole range was read.
       0::bigint AS close_usd_cents
FROM history_export_rows h
-- The address is a parameter, not only the view's join: equal to a
-- constant, it lets the index's order be the query's, with no sort.
WHERE h.entry_id = @entry_id
  AND h.address_id = @address_id::bigint
  AND h.user_id = @user_id
  AND h.revealed
  AND history_row_matches(h.sort_time, h.status, h.net_sats, h.self_transfer,
          @from_time::timestamptz, @to_time::timestamptz, @statuses::text[],
          @min_amount::bigint, @max_amount::bigint, @direction::text)
ORDER BY h.unconfirmed ASC, h.sort_time ASC, h.sort_height ASC, h.txid ASC;
