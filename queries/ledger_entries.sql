-- name: LedgerEntriesUpsert :exec
-- LedgerEntriesUpsert writes a batch of (address, transaction) effects by
-- natural key, copying each transaction's ordering columns, first-seen
-- time and fee so the history index can serve pages and exports alone.
-- Rows whose stored amounts already match are set aside before the
-- INSERT, so a re-run neither writes nor locks them (ON CONFLICT DO UPDATE
-- would lock each one, dirtying its page); the ON CONFLICT clause repeats
-- the test for a row another session changed after this statement's
-- snapshot. A new row is flagged has_siblings at once when its transaction
-- has another row in the batch or in the table: the statement trigger
-- ledger_entries_mark_siblings then only has older rows to flag, instead
-- of rewriting every multi-address row it just inserted.
WITH input AS (
    SELECT
        unnest(@address_ids::bigint[]) AS address_id,
        unnest(@transaction_ids::bigint[]) AS transaction_id,
        unnest(@received_sats::bigint[]) AS received_sats,
        unnest(@sent_sats::bigint[]) AS sent_sats,
        unnest(@fee_share_sats::bigint[]) AS fee_share_sats
), changed AS (
    SELECT i.address_id, i.transaction_id, i.received_sats, i.sent_sats, i.fee_share_sats,
           count(*) OVER (PARTITION BY i.transaction_id) > 1 AS batch_siblings
    FROM input i
    WHERE NOT EXISTS (
        SELECT 1 FROM ledger_entries s
        WHERE s.transaction_id = i.transaction_id AND s.address_id = i.address_id
          AND (s.received_sats, s.sent_sats, s.fee_share_sats)
              = (i.received_sats, i.sent_sats, i.fee_share_sats)
    )
)
INSERT INTO ledger_entries AS le
    (address_id, transaction_id, received_sats, sent_sats, fee_share_sats,
     txid, status, block_height, block_time, first_seen, fee_sats, has_siblings)
SELECT c.address_id, t.id, c.received_sats, c.sent_sats, c.fee_share_sats,
       t.txid, t.status, t.block_height, t.block_time, t.first_seen, t.fee_sats,
       c.batch_siblings
       OR EXISTS (SELECT 1 FROM ledger_entries o
                  WHERE o.transaction_id = c.transaction_id AND o.address_id <> c.address_id)
FROM changed c
JOIN transactions t ON t.id = c.transaction_id
ON CONFLICT (transaction_id, address_id) DO UPDATE
SET received_sats = EXCLUDED.received_sats,
    sent_sats = EXCLUDED.sent_sats,
    fee_share_sats = EXCLUDED.fee_share_sats
WHERE (le.received_sats, le.sent_sats, le.fee_share_sats)
    IS DISTINCT FROM (EXCLUDED.received_sats, EXCLUDED.sent_sats, EXCLUDED.fee_share_sats);

-- name: LedgerAggregateDifferences :many
-- LedgerAggregateDifferences recomputes the stored aggregates
-- (address_totals, address_days, address_months, user_totals; migrations
-- 00018, 00022, 00023) from the ledger and
-- lists up to max_rows differences: none when they are exact. It reads the
-- whole ledger: `cointracker verify` and the tests run it, never a request.
SELECT d.aggregate, d.address_id, d.day, d.stored, d.computed
FROM ledger_aggregate_differences d
ORDER BY d.address_id, d.aggregate DESC, d.day NULLS FIRST
LIMIT @max_rows;
