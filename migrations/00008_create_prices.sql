-- +goose Up
-- Daily BTC/USD closing prices, for fiat values at block time and today.
-- Stored in integer US cents per whole bitcoin, so no float ever touches
-- money; values are computed as sats * cents / 1e8 with numeric arithmetic.
CREATE TABLE prices (
    day date PRIMARY KEY,
    close_usd_cents bigint NOT NULL CHECK (close_usd_cents > 0)
);

COMMENT ON TABLE prices IS 'Daily BTC/USD close in cents per bitcoin.';

-- +goose Down
DROP TABLE prices;
