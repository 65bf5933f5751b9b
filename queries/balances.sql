-- name: BalanceTotals :one
-- BalanceTotals serves the total of GET /v1/balances: the sums of the
-- user's revealed entries' stored totals (address_totals, one row per
-- entry), whatever page of entries the call lists, and the user's
-- transaction count, each transaction once however many of the user's
-- addresses it touches: the entries' counts less the repeats (a
-- transaction at k of the user's revealed addresses is in k of those
-- counts), kept in user_totals by triggers (migration 00023). The cost is
-- one row per entry.
WITH entries AS (
    SELECT ua.address_id FROM user_addresses ua
    WHERE ua.user_id = @user_id AND ua.revealed
)
SELECT coalesce(sum(t.confirmed_sats), 0)::bigint AS confirmed_sats,
       coalesce(sum(t.unconfirmed_sats), 0)::bigint AS unconfirmed_sats,
       coalesce(sum(t.received_sats), 0)::bigint AS received_sats,
       coalesce(sum(t.sent_sats), 0)::bigint AS sent_sats,
       (coalesce(sum(t.tx_count), 0)
        - coalesce((SELECT ut.repeats FROM user_totals ut WHERE ut.user_id = @user_id), 0))::bigint AS tx_count,
       -- Scalar subqueries of the columns, not min()/max(), so sqlc types
       -- them as the columns are: nullable (no entry has activity).
       (SELECT f.first_activity FROM entries e3 JOIN address_totals f ON f.address_id = e3.address_id
        ORDER BY f.first_activity NULLS LAST LIMIT 1) AS first_activity,
       (SELECT l.last_activity FROM entries e4 JOIN address_totals l ON l.address_id = e4.address_id
        ORDER BY l.last_activity DESC NULLS LAST LIMIT 1) AS last_activity
FROM entries e
JOIN address_totals t ON t.address_id = e.address_id;

-- name: BalanceHistory :many
-- BalanceHistory serves GET /v1/balances/history: the balance (confirmed
-- and pending rows) at the end of every interval (day, week or month, in
-- UTC) from the user's first transaction to the last, for the whole
-- watch-list or one entry (entry id range), with the BTC/USD close of the
-- interval's last priced day. The movements come from stored days, not
-- ledger rows: the user's own (user_days, migration 00026: O(days)) for
-- the whole watch-list, the entry's address's (address_days, or
-- address_months for a monthly series) for one entry. The running sum
-- covers all history even when only [from, to) is returned.
WITH moves AS (
    SELECT date_trunc(@interval::text, d.day::timestamp) AT TIME ZONE 'UTC' AS bucket,
           sum(d.net_sats)::bigint AS net
    FROM (
        SELECT ud.day, ud.net_sats FROM user_days ud
        WHERE ud.user_id = @user_id AND @whole_watch_list::boolean
        UNION ALL
        SELECT e.day, e.net_sats
        FROM user_addresses ua
        -- The entry's days (or months, for a monthly history), an
        -- index-only scan of its range of the table's key (which carries
        -- net_sats); only one of the two branches runs. OFFSET 0 keeps
        -- the planner from hashing the whole table.
        CROSS JOIN LATERAL (
            SELECT ad.day, ad.net_sats FROM address_days ad
            WHERE ad.address_id = ua.address_id AND @interval::text <> 'month'
            UNION ALL
            SELECT am.month, am.net_sats FROM address_months am
            WHERE am.address_id = ua.address_id AND @interval::text = 'month'
            OFFSET 0
        ) e
        WHERE ua.user_id = @user_id
          AND ua.id BETWEEN @min_entry_id::bigint AND @max_entry_id::bigint
          AND ua.revealed
          AND NOT @whole_watch_list::boolean
    ) d
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
    -- The close of the interval's last priced day: its last day's, found
    -- by a join (one probe a point cost more than the rest of a daily
    -- series), or where that day has no price the last before it; 0 when
    -- no price is known (stored prices are positive).
    coalesce(last_day.close_usd_cents,
             (SELECT p.close_usd_cents FROM prices p
              WHERE p.day < pt.end_day
              ORDER BY p.day DESC
              LIMIT 1), 0)::bigint AS close_usd_cents
FROM (
    SELECT points.bucket, points.balance_sats,
           ((points.bucket + ('1 ' || @interval::text)::interval) AT TIME ZONE 'UTC')::date AS end_day
    FROM points
    WHERE points.bucket >= @from_time::timestamptz AND points.bucket < @to_time::timestamptz
) pt
LEFT JOIN prices last_day ON last_day.day = pt.end_day - 1
ORDER BY pt.bucket;
