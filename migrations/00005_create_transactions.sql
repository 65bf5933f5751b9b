-- +goose Up
-- One row per (network, txid): the shared, chain-wide facts of a transaction.
-- How it affects each tracked address is in ledger_entries.
CREATE TABLE transactions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    network text NOT NULL
        CHECK (network IN ('mainnet', 'testnet', 'signet', 'regtest')),
    -- The 32-byte transaction id in the byte order block explorers display.
    txid bytea NOT NULL CHECK (octet_length(txid) = 32),
    -- pending: in the mempool; confirmed: in a block of the best chain;
    -- replaced: a conflicting spend confirmed (RBF); dropped: left the
    -- mempool unconfirmed. Replaced and dropped rows never count in balances.
    status text NOT NULL
        CHECK (status IN ('pending', 'confirmed', 'replaced', 'dropped')),
    -- Null while unconfirmed.
    block_height integer CHECK (block_height >= 0),
    block_hash bytea CHECK (octet_length(block_hash) = 32),
    block_time timestamptz,
    -- Total fee paid; zero for coinbase transactions.
    fee_sats bigint NOT NULL CHECK (fee_sats BETWEEN 0 AND 2100000000000000),
    -- Virtual size in vbytes (weight / 4, rounded up).
    vsize integer NOT NULL CHECK (vsize > 0),
    -- When the service (or the provider) first saw the transaction.
    first_seen timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT transactions_network_txid_key UNIQUE (network, txid),
    CONSTRAINT transactions_block_check CHECK (
        (status = 'confirmed') = (block_height IS NOT NULL)
        AND (block_height IS NULL) = (block_hash IS NULL)
        AND (block_height IS NULL) = (block_time IS NULL)
    )
);

-- Serves the mempool sweep: pending transactions to re-check, oldest first.
CREATE INDEX transactions_pending_idx ON transactions (network, first_seen)
    WHERE status = 'pending';
-- Serves reorg handling: confirmed transactions at or above a height.
CREATE INDEX transactions_block_height_idx ON transactions (network, block_height)
    WHERE block_height IS NOT NULL;

COMMENT ON TABLE transactions IS 'Bitcoin transactions touching at least one tracked address, shared by all users.';

-- +goose Down
DROP TABLE transactions;
