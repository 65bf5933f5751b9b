-- name: SyncTargetGet :one
-- SyncTargetGet returns the address a sync job works on with its sync
-- state (both by primary key). A missing state reads as new.
SELECT a.id, a.network, a.address,
       coalesce(s.status, 'new')::text AS status,
       s.last_synced_height, s.last_seen_txid,
       coalesce(s.attempts, 0) AS attempts,
       coalesce(s.history_complete, false) AS history_complete
FROM addresses a
LEFT JOIN sync_states s ON s.address_id = a.id
WHERE a.id = @address_id;

-- name: SyncStatesQueue :exec
-- SyncStatesQueue records that syncs of the addresses were asked for. An
-- address whose sync is already queued or running keeps its state, so
-- asking twice changes nothing.
INSERT INTO sync_states AS s (address_id, status, queued_at, updated_at)
SELECT unnest(@address_ids::bigint[]), 'queued', now(), now()
ON CONFLICT (address_id) DO UPDATE
SET status = 'queued', queued_at = now(), updated_at = now()
WHERE s.status NOT IN ('queued', 'running');

-- name: SyncStateStart :exec
-- SyncStateStart marks the address's sync as running.
INSERT INTO sync_states AS s (address_id, status, started_at, updated_at)
VALUES (@address_id, 'running', now(), now())
ON CONFLICT (address_id) DO UPDATE
SET status = 'running', started_at = now(), updated_at = now(),
    pages_fetched = CASE WHEN s.last_seen_txid IS NULL THEN 0 ELSE s.pages_fetched END,
    txs_fetched = CASE WHEN s.last_seen_txid IS NULL THEN 0 ELSE s.txs_fetched END;

-- name: SyncStateProgress :exec
-- SyncStateProgress records one committed page: the resume point (null
-- once the walk has ended) and the counts fetched so far.
UPDATE sync_states
SET last_seen_txid = sqlc.narg(last_seen_txid),
    pages_fetched = pages_fetched + 1,
    txs_fetched = txs_fetched + @txs::integer,
    updated_at = now()
WHERE address_id = @address_id;

-- name: SyncStateFinish :exec
-- SyncStateFinish ends a sync: done, or partial with the difference from
-- the provider's totals in last_error. Only done marks the history
-- complete, the condition for the next sync to walk incrementally.
UPDATE sync_states
SET status = @status,
    history_complete = (@status = 'done'),
    last_synced_height = @height,
    last_seen_txid = NULL,
    attempts = 0,
    last_error = sqlc.narg(last_error),
    finished_at = now(),
    updated_at = now()
WHERE address_id = @address_id;

-- name: SyncStateFail :exec
-- SyncStateFail records a failed attempt. The resume point stays, so the
-- next attempt continues where this one stopped; status is queued while
-- retries remain and failed when they are spent.
UPDATE sync_states
SET status = @status,
    attempts = attempts + 1,
    last_error = @last_error::text,
    updated_at = now()
WHERE address_id = @address_id;

-- name: SyncSweepCandidates :many
-- SyncSweepCandidates lists tracked addresses whose last sync finished
-- before a time (or never) for the periodic re-sync: partial histories
-- first, stalest first, then never-synced ones (their first sync was lost),
-- then complete ones, stalest first (sync_states_sweep_idx, migration
-- 00017; tracked: user_addresses_address_id_idx).
-- Addresses queued or running since before that time are listed too: if
-- their job was lost, queueing again replaces it, and if it still exists
-- river's uniqueness keeps it the only one.
SELECT s.address_id
FROM sync_states s
WHERE (s.finished_at IS NULL OR s.finished_at < @before::timestamptz)
  AND (s.status NOT IN ('queued', 'running') OR s.updated_at < @before::timestamptz)
  AND EXISTS (SELECT 1 FROM user_addresses ua WHERE ua.address_id = s.address_id)
ORDER BY s.history_complete, s.finished_at NULLS LAST
LIMIT @max_rows;

-- name: SyncStatusCounts :many
-- SyncStatusCounts counts addresses by sync status, for /metrics.
SELECT status, count(*)::bigint AS addresses FROM sync_states GROUP BY status;

-- name: LedgerTotals :one
-- LedgerTotals sums an address's stored confirmed and pending rows, to
-- compare with the provider's chain_stats and mempool_stats
-- (index-only scan of ledger_entries_history_idx).
SELECT
    count(*) FILTER (WHERE status = 'confirmed') AS chain_tx_count,
    coalesce(sum(received_sats) FILTER (WHERE status = 'confirmed'), 0)::bigint AS chain_funded,
    coalesce(sum(sent_sats) FILTER (WHERE status = 'confirmed'), 0)::bigint AS chain_spent,
    count(*) FILTER (WHERE status = 'pending') AS mempool_tx_count,
    coalesce(sum(received_sats) FILTER (WHERE status = 'pending'), 0)::bigint AS mempool_funded,
    coalesce(sum(sent_sats) FILTER (WHERE status = 'pending'), 0)::bigint AS mempool_spent
FROM ledger_entries
WHERE address_id = @address_id AND status IN ('confirmed', 'pending');

-- name: LedgerPending :many
-- LedgerPending lists an address's pending transactions with when each was
-- first seen (an unconfirmed row's sort_time), to find those that left the
-- mempool (index-only scan of ledger_entries_history_idx, unconfirmed
-- rows).
SELECT transaction_id, txid, sort_time AS first_seen
FROM ledger_entries
WHERE address_id = @address_id AND unconfirmed AND status = 'pending';

-- name: TransactionsUnconfirm :many
-- TransactionsUnconfirm takes transactions out of their block: back to
-- pending after a reorg, or replaced or dropped when they left the
-- mempool. The trigger carries it to the ledger.
UPDATE transactions
SET status = @status, block_height = NULL, block_hash = NULL, block_time = NULL, updated_at = now()
WHERE id = ANY (@ids::bigint[]) AND status <> @status
RETURNING id;

-- name: TransactionSpendsAdd :exec
-- TransactionSpendsAdd records the outpoints synchronised transactions
-- spend, once each.
INSERT INTO transaction_spends (transaction_id, prev_txid, prev_vout)
SELECT unnest(@transaction_ids::bigint[]), unnest(@prev_txids::bytea[]), unnest(@prev_vouts::integer[])
ON CONFLICT DO NOTHING;

-- name: TransactionsReplaceConflicted :many
-- TransactionsReplaceConflicted marks replaced every pending or dropped
-- transaction of the address that spends an outpoint which a different,
-- confirmed transaction spends: the conflict confirmed, so it can never
-- confirm. The address's few unconfirmed rows come first, materialised
-- (ledger_entries_history_idx), so the planner probes transaction_spends
-- by their keys (primary key, then transaction_spends_outpoint_idx) and
-- never joins that table, one row per input ever synced, with itself.
WITH mine AS MATERIALIZED (
    SELECT le.transaction_id
    FROM ledger_entries le
    WHERE le.address_id = @address_id AND le.unconfirmed AND le.status IN ('pending', 'dropped')
)
UPDATE transactions t
SET status = 'replaced', updated_at = now()
WHERE t.id IN (
    SELECT s.transaction_id
    FROM mine m
    JOIN transaction_spends s ON s.transaction_id = m.transaction_id
    JOIN transaction_spends c ON c.prev_txid = s.prev_txid AND c.prev_vout = s.prev_vout
        AND c.transaction_id <> s.transaction_id
    JOIN transactions ct ON ct.id = c.transaction_id AND ct.status = 'confirmed'
)
RETURNING t.id;

-- name: TransactionSpendsGet :many
-- TransactionSpendsGet returns the outpoints a transaction spends
-- (primary key prefix).
SELECT prev_txid, prev_vout FROM transaction_spends WHERE transaction_id = @transaction_id;

-- name: TransactionsInBlock :many
-- TransactionsInBlock lists the transactions stored in one block and the
-- addresses each touches (transactions_block_height_idx, then the ledger's
-- primary key).
SELECT t.id, le.address_id
FROM transactions t
JOIN ledger_entries le ON le.transaction_id = t.id
WHERE t.network = @network AND t.block_height = @block_height::integer AND t.block_hash = @block_hash;

-- name: XpubChainsOfAddress :many
-- XpubChainsOfAddress returns, for each xpub chain that derived the
-- address, how far it is derived and the highest index with history, so
-- the sync can keep gap_limit unused addresses ahead of the last used one
-- (xpub_addresses_address_id_idx, then the xpub_addresses primary key and
-- one probe of ledger_entries_history_idx per derived address).
WITH chains AS (
    SELECT DISTINCT d.xpub_id, d.chain FROM xpub_addresses d WHERE d.address_id = @address_id
)
SELECT x.id AS xpub_id, x.user_id, x.network, x.xpub, x.purpose, x.gap_limit, c.chain,
       max(xa.index)::integer AS last_index,
       coalesce(max(xa.index) FILTER (WHERE u.used), -1)::integer AS last_used
FROM chains c
JOIN xpubs x ON x.id = c.xpub_id
JOIN xpub_addresses xa ON xa.xpub_id = c.xpub_id AND xa.chain = c.chain
CROSS JOIN LATERAL (
    SELECT EXISTS (SELECT 1 FROM ledger_entries le WHERE le.address_id = xa.address_id) AS used
) u
GROUP BY x.id, c.chain;

-- name: UserSyncBacklog :one
-- UserSyncBacklog counts the user's watch-list entries whose address has
-- a sync queued or running (user_addresses_user_id_id_idx, then the sync
-- states' primary key): the user's share of the queue, which decides the
-- priority of the user's next syncs.
SELECT count(*)::integer
FROM user_addresses ua
JOIN sync_states s ON s.address_id = ua.address_id
WHERE ua.user_id = @user_id
  AND s.status IN ('queued', 'running');

-- name: SyncStateYield :exec
-- SyncStateYield puts a sync that used its page budget back in the queue
-- (primary key): its resume point and progress stay, and the next job
-- continues from there.
UPDATE sync_states SET status = 'queued', updated_at = now()
WHERE address_id = @address_id AND status = 'running';
