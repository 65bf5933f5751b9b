-- name: TransactionsUpsert :many
-- TransactionsUpsert writes a batch of transactions by natural key
-- (network, txid), as the fixtures and the sync do, and returns each one's
-- id. Re-running it with the same facts changes nothing: the WHERE clause
-- skips rows whose facts are unchanged, so no dead tuples and no trigger.
-- A changed status or block (confirmation, reorg) updates the row, and the
-- transactions_ledger_sync trigger carries it to the ledger. A confirmed
-- row is never sent back to pending by an upsert: a backend a block behind
-- lists a just-mined transaction as unconfirmed, and only the tip check,
-- comparing block hashes, decides that a block left the chain.
--
-- Arrays cannot carry SQL nulls from Go slices, so an unconfirmed row has
-- block height -1 and an empty block hash, and its block time is ignored.
-- Unchanged rows are not returned by the INSERT, so the final SELECT looks
-- their ids up; when the INSERT returned every row (a fresh batch) its
-- one-time filter skips that lookup. A row another session inserts concurrently and identically
-- is in neither set (it is newer than this statement's snapshot): callers
-- compare the count returned with the count sent and retry when it is short.
WITH raw AS (
    SELECT
        unnest(@networks::text[]) AS network,
        unnest(@txids::bytea[]) AS txid,
        unnest(@statuses::text[]) AS status,
        unnest(@block_heights::integer[]) AS block_height,
        unnest(@block_hashes::bytea[]) AS block_hash,
        unnest(@block_times::timestamptz[]) AS block_time,
        unnest(@fees_sats::bigint[]) AS fee_sats,
        unnest(@vsizes::integer[]) AS vsize,
        unnest(@first_seens::timestamptz[]) AS first_seen
), input AS (
    SELECT
        network, txid, status,
        nullif(block_height, -1) AS block_height,
        nullif(block_hash, ''::bytea) AS block_hash,
        CASE WHEN block_height = -1 THEN NULL ELSE block_time END AS block_time,
        fee_sats, vsize, first_seen
    FROM raw
), upserted AS (
    INSERT INTO transactions AS t
        (network, txid, status, block_height, block_hash, block_time, fee_sats, vsize, first_seen)
    SELECT network, txid, status, block_height, block_hash, block_time, fee_sats, vsize, first_seen
    FROM input
    ON CONFLICT ON CONSTRAINT transactions_network_txid_key DO UPDATE
    SET status = EXCLUDED.status,
        block_height = EXCLUDED.block_height,
        block_hash = EXCLUDED.block_hash,
        block_time = EXCLUDED.block_time,
        fee_sats = EXCLUDED.fee_sats,
        vsize = EXCLUDED.vsize,
        first_seen = least(t.first_seen, EXCLUDED.first_seen),
        updated_at = now()
    WHERE NOT (t.status = 'confirmed' AND EXCLUDED.status = 'pending')
      AND (t.status, t.block_height, t.block_hash, t.block_time, t.fee_sats, t.vsize, t.first_seen)
        IS DISTINCT FROM
        (EXCLUDED.status, EXCLUDED.block_height, EXCLUDED.block_hash, EXCLUDED.block_time,
         EXCLUDED.fee_sats, EXCLUDED.vsize, least(t.first_seen, EXCLUDED.first_seen))
    RETURNING t.id, t.network, t.txid
)
SELECT upserted.id, upserted.network, upserted.txid FROM upserted
UNION ALL
SELECT t.id, t.network, t.txid
FROM transactions t
JOIN input i ON i.network = t.network AND i.txid = t.txid
WHERE (SELECT count(*) FROM upserted) < (SELECT count(*) FROM input)
  AND NOT EXISTS (
    SELECT 1 FROM upserted u WHERE u.network = t.network AND u.txid = t.txid
  );
