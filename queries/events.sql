-- The change feed (GET /v1/events), written by the triggers of migration
-- 00028.

-- name: EventsList :many
-- EventsList is a page of the user's events after an id, in id order
-- (the primary key), optionally of some types only. A transaction event
-- carries what the API needs to render it as a history item: the
-- address, its confirmations now (as the history computes them) and the
-- day's close (0 cents: no price).
SELECT e.user_id, e.id, e.type, e.created_at, e.entry_id, e.address_id, a.address,
       e.txid, e.status, e.self_transfer, e.received_sats, e.sent_sats, e.fee_sats, e.fee_share_sats,
       e.block_height, e.block_time, e.first_seen, e.sync_status, e.confirmed_sats, e.unconfirmed_sats,
       e.total_received_sats, e.total_sent_sats, e.tx_count, e.first_activity, e.last_activity,
       (CASE WHEN e.block_height IS NULL THEN 0
             ELSE greatest(coalesce(ct.height, e.block_height) - e.block_height + 1, 1) END)::integer AS confirmations,
       coalesce(p.close_usd_cents, 0)::bigint AS close_usd_cents
FROM events e
JOIN addresses a ON a.id = e.address_id
LEFT JOIN chain_tips ct ON ct.network = a.network
LEFT JOIN prices p ON p.day = (coalesce(e.block_time, e.first_seen) AT TIME ZONE 'UTC')::date
WHERE e.user_id = @user_id
  AND e.id > @after_id::bigint
  AND (cardinality(@types::text[]) = 0 OR e.type = ANY (@types::text[]))
ORDER BY e.id
LIMIT @max_rows;

-- name: EventsPosition :one
-- EventsPosition is the user's last event id and the id through which
-- retention has deleted (0 and 0 before the first event).
SELECT coalesce(max(c.last_id), 0)::bigint AS last_id, coalesce(max(c.pruned_through), 0)::bigint AS pruned_through
FROM event_counters c
WHERE c.user_id = @user_id;

-- name: EventsPrune :execrows
-- EventsPrune deletes events created before a time, at most max_rows of
-- them (the oldest), and records per user the highest id it deleted, so a
-- cursor before it answers 410. Run repeatedly until it deletes nothing.
WITH gone AS (
    DELETE FROM events e
    USING (SELECT user_id, id FROM events WHERE created_at < @before::timestamptz
           ORDER BY created_at LIMIT @max_rows) old
    WHERE e.user_id = old.user_id AND e.id = old.id
    RETURNING e.user_id, e.id
), marks AS (
    SELECT user_id, max(id) AS through FROM gone GROUP BY user_id
), marked AS (
    UPDATE event_counters c SET pruned_through = greatest(c.pruned_through, m.through)
    FROM marks m WHERE c.user_id = m.user_id
    RETURNING c.user_id
)
SELECT user_id FROM gone;

-- name: EventsOff :exec
-- EventsOff turns events off to the end of the transaction: demo data
-- (the fixtures) is not news.
SELECT set_config('cointracker.events', 'off', true);
