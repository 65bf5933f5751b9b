-- +goose Up
-- A user's watch-list: which shared addresses the user tracks, under which
-- label. Its id is the address id the API shows, so users never see the
-- shared row's id and cannot tell whether anyone else tracks the address.
CREATE TABLE user_addresses (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- RESTRICT: shared chain data outlives any one user's interest in it.
    address_id bigint NOT NULL REFERENCES addresses (id) ON DELETE RESTRICT,
    -- Set when the entry was derived from one of the user's xpubs; deleting
    -- the xpub removes the entries it derived.
    xpub_id bigint,
    label text CHECK (length(label) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_addresses_user_id_address_id_key UNIQUE (user_id, address_id),
    CONSTRAINT user_addresses_xpub_fkey FOREIGN KEY (xpub_id, user_id)
        REFERENCES xpubs (id, user_id) ON DELETE CASCADE
);

-- Serves the user's watch-list page by page (keyset on id).
CREATE INDEX user_addresses_user_id_id_idx ON user_addresses (user_id, id);
-- Serves "who tracks this address" for sync fan-out and the foreign key.
CREATE INDEX user_addresses_address_id_idx ON user_addresses (address_id);
CREATE INDEX user_addresses_xpub_id_idx ON user_addresses (xpub_id)
    WHERE xpub_id IS NOT NULL;

COMMENT ON TABLE user_addresses IS 'The per-user watch-list linking a user to a shared address.';

-- +goose Down
DROP TABLE user_addresses;
