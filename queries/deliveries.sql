-- Webhook deliveries (migration 00030), worked by package deliveries.

-- name: DeliveriesDueLanes :many
-- DeliveriesDueLanes lists lanes (endpoint, entry) of enabled endpoints
-- with a delivery due now, from the pending deliveries' partial index.
SELECT DISTINCT d.webhook_id, d.entry_id
FROM webhook_deliveries d
JOIN webhooks w ON w.id = d.webhook_id AND w.enabled
WHERE d.status = 'pending' AND d.next_attempt_at <= now()
LIMIT @max_lanes;

-- name: DeliveryLaneHead :one
-- DeliveryLaneHead is a lane's oldest pending delivery: the lane waits on
-- it, in order.
SELECT * FROM webhook_deliveries
WHERE webhook_id = @webhook_id AND entry_id = @entry_id AND status = 'pending'
ORDER BY id
LIMIT 1;

-- name: WebhookByID :one
-- WebhookByID reads an endpoint for delivery (no user scope: the worker's).
SELECT * FROM webhooks WHERE id = @id;

-- name: DeliveryRecord :exec
-- DeliveryRecord stores an attempt's outcome: the body sent (kept from
-- the first attempt on), the answer, and what comes next.
UPDATE webhook_deliveries SET
    attempts = attempts + 1,
    payload = coalesce(payload, @payload),
    last_attempt_at = now(),
    last_status_code = sqlc.narg(last_status_code),
    last_latency_ms = @last_latency_ms,
    last_error = sqlc.narg(last_error),
    status = @status,
    next_attempt_at = @next_attempt_at,
    delivered_at = CASE WHEN @status = 'succeeded' THEN now() END
WHERE id = @id;

-- name: WebhookRecordSuccess :exec
UPDATE webhooks SET last_success_at = now() WHERE id = @id;

-- name: WebhookDisable :execrows
-- WebhookDisable turns off an endpoint that has failed for too long,
-- saying why; its owner enables it again with PATCH.
UPDATE webhooks SET enabled = false, disabled_reason = @reason, updated_at = now()
WHERE id = @id AND enabled;

-- name: DeliveryList :many
-- DeliveryList is a page of an endpoint's delivery log, newest first
-- (webhook_deliveries_webhook_id_id_idx), scoped to the user.
SELECT d.id, d.event_id, d.event_type, d.entry_id, d.status, d.attempts, d.next_attempt_at, d.last_attempt_at,
       d.last_status_code, d.last_latency_ms, d.last_error, d.created_at, d.delivered_at
FROM webhook_deliveries d
WHERE d.webhook_id = @webhook_id AND d.user_id = @user_id AND d.id < @before_id
ORDER BY d.id DESC
LIMIT @max_rows;

-- name: DeliveryRetry :one
-- DeliveryRetry makes a delivery due now again (a failed one pending).
UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now()
WHERE id = @id AND webhook_id = @webhook_id AND user_id = @user_id AND status <> 'succeeded'
RETURNING id, event_id, event_type, entry_id, status, attempts, next_attempt_at, last_attempt_at,
          last_status_code, last_latency_ms, last_error, created_at, delivered_at;

-- name: DeliveryExists :one
SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = @id AND webhook_id = @webhook_id AND user_id = @user_id);

-- name: DeliveriesBacklog :one
-- DeliveriesBacklog is how many deliveries are due and how long the
-- oldest has waited, in seconds.
SELECT count(*)::bigint AS due,
       coalesce(extract(epoch FROM now() - min(next_attempt_at)), 0)::float8 AS oldest_seconds
FROM webhook_deliveries
WHERE status = 'pending' AND next_attempt_at <= now();
