-- name: BalanceTransactionCount :one
-- BalanceTransactionCount counts the user's confirmed and pending
-- transactions once each, however many of the user's addresses a
-- transaction touches. Each entry's rows come from its own range of
-- ledger_entries_history_idx (a LATERAL index-only scan), never a scan of
-- the whole ledger.
SELECT count(DISTINCT le.transaction_id)::bigint AS tx_count
FROM user_addresses ua
CROSS JOIN LATERAL (
    SELECT l.transaction_id
    FROM ledger_entries l
    WHERE l.address_id = ua.address_id
      AND l.status IN ('confirmed', 'pending')
) le
WHERE ua.user_id = @user_id
  AND ua.revealed;

-- name: BalanceHistory :many
-- BalanceHistory serves GET /v1/balances/history: the balance (confirmed
-- and pending rows) at the end of every interval (day, week or month, in
-- UTC) from the user's first transaction to the last, for one entry or all
-- (entry id range), with the BTC/USD close of the interval's last priced
-- day. Each entry's rows come from its own index range (LATERAL), and the
-- running sum covers all history even when only [from, to) is returned.
WITH moves AS (
    SELECT date_trunc(@interval::text, le.sort_time, 'UTC') AS bucket,
           sum(le.net_sats)::bigint AS net
    FROM user_addresses ua
    CROSS JOIN LATERAL (
        SELECT l.sort_time, l.net_sats
        FROM ledger_entries l
        WHERE l.address_id = ua.address_id
          AND l.status IN ('confirmed', 'pending')
    ) le
    WHERE ua.user_id = @user_id
      AND ua.id BETWEEN @min_entry_id::bigint AND @max_entry_id::bigint
      AND ua.revealed
    GROUP BY 1
), points AS (
    SELECT b.bucket,
           (sum(coalesce(m.net, 0)) OVER (ORDER BY b.bucket))::bigint AS balance_sats
    FROM (SELECT min(bucket) AS first_bucket, max(bucket) AS last_bucket FROM moves) span
    CROSS JOIN LATERAL generate_series(span.first_bucket, span.last_bucket, ('1 ' || @interval::text)::interval) AS b(bucket)
    LEFT JOIN moves m ON m.bucket = b.bucket
)
SELECT
    pt.bucket::timestamptz AS bucket,
    pt.balance_sats,
    -- 0 when no price is known (stored prices are positive).
    coalesce((SELECT p.close_usd_cents
              FROM prices p
              WHERE p.day < ((pt.bucket + ('1 ' || @interval::text)::interval) AT TIME ZONE 'UTC')::date
              ORDER BY p.day DESC
              LIMIT 1), 0)::bigint AS close_usd_cents
FROM points pt
WHERE pt.bucket >= @from_time::timestamptz AND pt.bucket < @to_time::timestamptz
ORDER BY pt.bucket;
