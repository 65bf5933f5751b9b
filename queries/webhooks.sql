-- Webhook endpoints (migration 00029). Every query is scoped to the user:
-- another user's endpoint is simply not found.

-- name: WebhookCreate :one
-- WebhookCreate adds an endpoint, locking the user's row first so that
-- concurrent creations count each other against max_per_user (0: no
-- bound); no row comes back when the user is at the bound.
WITH locked AS (
    SELECT u.id FROM users u WHERE u.id = @user_id FOR NO KEY UPDATE
), counted AS (
    SELECT count(*) AS n FROM webhooks w WHERE w.user_id = (SELECT id FROM locked)
)
INSERT INTO webhooks (user_id, url, event_types, description, enabled, signing_key)
SELECT l.id, @url, @event_types::text[], sqlc.narg(description), @enabled, @signing_key
FROM locked l, counted c
WHERE @max_per_user::integer = 0 OR c.n < @max_per_user::integer
RETURNING *;

-- name: WebhookList :many
-- WebhookList is a page of the user's endpoints in id order
-- (webhooks_user_id_id_idx).
SELECT * FROM webhooks
WHERE user_id = @user_id AND id > @after_id
ORDER BY id
LIMIT @max_rows;

-- name: WebhookGet :one
SELECT * FROM webhooks WHERE user_id = @user_id AND id = @id;

-- name: WebhookUpdate :one
-- WebhookUpdate changes the fields given (null: unchanged; description
-- is cleared by clear_description). Enabling an endpoint forgets why the
-- service disabled it.
UPDATE webhooks SET
    url = coalesce(sqlc.narg(url), url),
    event_types = coalesce(sqlc.narg(event_types)::text[], event_types),
    description = CASE WHEN @clear_description::boolean THEN NULL ELSE coalesce(sqlc.narg(description), description) END,
    enabled = coalesce(sqlc.narg(enabled), enabled),
    disabled_reason = CASE WHEN coalesce(sqlc.narg(enabled), enabled) THEN NULL ELSE disabled_reason END,
    updated_at = now()
WHERE user_id = @user_id AND id = @id
RETURNING *;

-- name: WebhookDelete :execrows
DELETE FROM webhooks WHERE user_id = @user_id AND id = @id;

-- name: WebhookRotateKey :one
-- WebhookRotateKey signs with a new key from now on; the current key
-- keeps signing beside it until previous_key_until.
UPDATE webhooks SET
    previous_key = signing_key,
    previous_key_until = @previous_key_until,
    signing_key = @signing_key,
    updated_at = now()
WHERE user_id = @user_id AND id = @id
RETURNING *;
