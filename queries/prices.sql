-- name: PricesUpsert :exec
-- PricesUpsert writes a batch of daily closes by day; unchanged days are
-- left untouched.
INSERT INTO prices AS p (day, close_usd_cents)
SELECT unnest(@days::date[]), unnest(@close_usd_cents::bigint[])
ON CONFLICT (day) DO UPDATE
SET close_usd_cents = EXCLUDED.close_usd_cents
WHERE p.close_usd_cents <> EXCLUDED.close_usd_cents;

-- name: PriceLatest :one
-- PriceLatest returns the most recent close (a backward scan of the primary
-- key), used for today's fiat values.
SELECT * FROM prices ORDER BY day DESC LIMIT 1;

-- name: PricesAll :many
-- PricesAll returns every daily close (one row a day since 2009: a few
-- thousand), for the CSV export, which looks each row's day up in memory
-- instead of probing the primary key once per row.
SELECT * FROM prices ORDER BY day;
