-- +goose Up
-- One row per person, keyed by the identity vendor's (issuer, subject) pair.
-- The row is created on the first authenticated request; nothing here is a
-- credential, so the service never stores a password.
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The token's "iss" claim: the identity vendor that vouches for the user.
    issuer text NOT NULL CHECK (issuer <> ''),
    -- The token's "sub" claim: stable per user within one issuer.
    subject text NOT NULL CHECK (subject <> ''),
    -- Profile claims, refreshed from the token when present.
    email text,
    name text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_issuer_subject_key UNIQUE (issuer, subject)
);

COMMENT ON TABLE users IS 'People using the API, identified by the token issuer and subject.';

-- +goose Down
DROP TABLE users;
