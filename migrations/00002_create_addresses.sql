-- +goose Up
-- Chain data is shared: one row per (network, address) however many users
-- track it, so an address is synchronised once for all of them.
CREATE TABLE addresses (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    network text NOT NULL
        CHECK (network IN ('mainnet', 'testnet', 'signet', 'regtest')),
    -- The canonical encoding: bech32/bech32m addresses are stored lower-case.
    address text NOT NULL CHECK (length(address) BETWEEN 14 AND 90),
    -- The output script the address pays to.
    script_type text NOT NULL
        CHECK (script_type IN ('p2pkh', 'p2sh', 'p2wpkh', 'p2wsh', 'p2tr')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT addresses_network_address_key UNIQUE (network, address)
);

COMMENT ON TABLE addresses IS 'Bitcoin addresses known to the service, shared by every user who tracks them.';

-- +goose Down
DROP TABLE addresses;
