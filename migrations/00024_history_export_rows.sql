-- +goose Up
-- The CSV export's cursors (queries HistoryExportNewest and
-- HistoryExportOldest) differ only in their ORDER BY, which must stay
-- literal for the planner to read the index forwards or backwards: the
-- row they read is written once, here. A plain view, folded into each
-- query: the entry id, user id and address id the queries pin reach
-- user_addresses' key and ledger_entries_history_idx as constants.
CREATE VIEW history_export_rows AS
SELECT
    ua.id AS entry_id,
    ua.user_id,
    ua.revealed,
    le.address_id,
    a.address,
    le.txid,
    le.status,
    CASE WHEN le.has_siblings
         THEN EXISTS (SELECT 1 FROM ledger_other_tracked(ua.user_id, le.transaction_id, le.address_id))
         ELSE false END AS self_transfer,
    le.received_sats,
    le.sent_sats,
    le.net_sats,
    le.first_seen,
    le.unconfirmed,
    le.sort_time,
    le.sort_height,
    le.fee_sats,
    le.fee_share_sats,
    (CASE WHEN le.unconfirmed THEN 0
          ELSE greatest(coalesce(ct.height, le.sort_height) - le.sort_height + 1, 1) END)::integer AS confirmations
FROM user_addresses ua
JOIN addresses a ON a.id = ua.address_id
LEFT JOIN chain_tips ct ON ct.network = a.network
JOIN ledger_entries le ON le.address_id = ua.address_id;

COMMENT ON VIEW history_export_rows IS 'A watch-list entry''s history rows as the CSV export reads them (migration 00024).';

-- +goose Down
DROP VIEW history_export_rows;
