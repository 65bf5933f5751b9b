-- +goose Up
-- Webhook endpoints (issue 21): where a user wants their events delivered.
-- The signing key is kept as it is, since signing (HMAC) needs it; it is
-- shown to its owner once, at creation or rotation. During a rotation the
-- previous key signs too, until previous_key_until.
CREATE TABLE webhooks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url text NOT NULL CHECK (octet_length(url) <= 2048),
    -- The event types delivered; empty for all of them.
    event_types text[] NOT NULL DEFAULT '{}' CHECK (event_types <@ ARRAY['transaction.seen', 'transaction.confirmed',
        'transaction.reorged', 'transaction.replaced', 'transaction.dropped', 'address.synced', 'balance.changed']),
    description text CHECK (char_length(description) <= 500),
    enabled boolean NOT NULL DEFAULT true,
    -- Why the service disabled the endpoint (it failed for days); null
    -- when enabled or disabled by its owner.
    disabled_reason text,
    signing_key bytea NOT NULL CHECK (octet_length(signing_key) BETWEEN 24 AND 64),
    previous_key bytea CHECK (octet_length(previous_key) BETWEEN 24 AND 64),
    previous_key_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((previous_key IS NULL) = (previous_key_until IS NULL))
);

-- A user's endpoints in id order (the list's keyset).
CREATE INDEX webhooks_user_id_id_idx ON webhooks (user_id, id);

COMMENT ON TABLE webhooks IS 'Users'' webhook endpoints for their events (migration 00029).';

-- +goose Down
DROP TABLE webhooks;
