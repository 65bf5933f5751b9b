-- +goose Up
-- Extended public keys a user tracks. The service derives receive and change
-- addresses from them (BIP-32) and keeps `gap_limit` unused addresses ahead
-- of the last used one on each chain.
CREATE TABLE xpubs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    network text NOT NULL
        CHECK (network IN ('mainnet', 'testnet', 'signet', 'regtest')),
    -- The key exactly as the user gave it (xpub/ypub/zpub, tpub/upub/vpub).
    xpub text NOT NULL CHECK (length(xpub) BETWEEN 100 AND 120),
    -- The BIP that fixes the derivation path and the address type:
    -- 44 = P2PKH, 49 = P2SH-P2WPKH, 84 = P2WPKH, 86 = P2TR.
    purpose smallint NOT NULL CHECK (purpose IN (44, 49, 84, 86)),
    label text CHECK (length(label) <= 200),
    gap_limit smallint NOT NULL DEFAULT 20 CHECK (gap_limit BETWEEN 1 AND 1000),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT xpubs_user_id_xpub_key UNIQUE (user_id, xpub),
    -- Lets the watch-list reference (xpub, user) so a derived entry can only
    -- ever belong to the xpub's own user.
    CONSTRAINT xpubs_id_user_id_key UNIQUE (id, user_id)
);

CREATE INDEX xpubs_user_id_id_idx ON xpubs (user_id, id);

COMMENT ON TABLE xpubs IS 'Extended public keys tracked by a user; their derived addresses are in xpub_addresses.';

-- Every address derived from an xpub, by chain and index (m/.../chain/index).
CREATE TABLE xpub_addresses (
    xpub_id bigint NOT NULL REFERENCES xpubs (id) ON DELETE CASCADE,
    -- BIP-44 chain: "receive" is /0, "change" is /1.
    chain text NOT NULL CHECK (chain IN ('receive', 'change')),
    -- The non-hardened child index.
    index integer NOT NULL CHECK (index >= 0),
    address_id bigint NOT NULL REFERENCES addresses (id),
    PRIMARY KEY (xpub_id, chain, index)
);

CREATE INDEX xpub_addresses_address_id_idx ON xpub_addresses (address_id);

COMMENT ON TABLE xpub_addresses IS 'Addresses derived from a tracked xpub.';

-- +goose Down
DROP TABLE xpub_addresses;
DROP TABLE xpubs;
