-- name: ChainTipUpsert :exec
-- ChainTipUpsert records the best chain's tip for a network; the same tip
-- again writes nothing.
INSERT INTO chain_tips AS c (network, height, block_hash, updated_at)
VALUES (@network, @height, sqlc.narg(block_hash), now())
ON CONFLICT (network) DO UPDATE
SET height = EXCLUDED.height, block_hash = EXCLUDED.block_hash, updated_at = now()
WHERE (c.height, c.block_hash) IS DISTINCT FROM (EXCLUDED.height, EXCLUDED.block_hash);

-- name: ChainBlocksAdd :many
-- ChainBlocksAdd records the blocks a synchronised page's transactions sit
-- in, as the provider named them (known ones are left as they are), and
-- returns the blocks recorded before at those heights under other hashes:
-- the provider's best chain no longer holds them, so the caller demotes
-- them at once. Without that, a stale block below a height the tip check
-- finds agreeing would never be looked at again (chain_blocks primary key).
WITH input AS (
    SELECT unnest(@heights::integer[]) AS height, unnest(@hashes::bytea[]) AS hash
), added AS (
    INSERT INTO chain_blocks (network, height, hash)
    SELECT @network, height, hash FROM input
    ON CONFLICT DO NOTHING
)
SELECT c.height, c.hash
FROM chain_blocks c
JOIN input i ON c.network = @network AND c.height = i.height AND c.hash <> i.hash;

-- name: ChainTipCheckBegin :one
-- ChainTipCheckBegin returns when the last complete reorg check began,
-- and the database's clock now, which this check records when it ends.
SELECT checked_at, now()::timestamptz AS now FROM chain_tips WHERE network = @network;

-- name: ChainTipChecked :exec
-- ChainTipChecked records when the reorg check that just ended began.
UPDATE chain_tips SET checked_at = @checked_at WHERE network = @network;

-- name: ChainBlocksBelow :many
-- ChainBlocksBelow lists the recorded blocks of the max_heights highest
-- heights at or below a height, highest first, every hash of each, for
-- the tip check's walk down (chain_blocks primary key, backwards).
SELECT b.height, b.hash, b.recorded_at FROM chain_blocks b
WHERE b.network = @network AND b.height <= @max_height::integer
  AND b.height >= (
    SELECT coalesce(min(d.height), 0) FROM (
        SELECT DISTINCT c.height FROM chain_blocks c
        WHERE c.network = @network AND c.height <= @max_height::integer
        ORDER BY c.height DESC
        LIMIT @max_heights
    ) d
  )
ORDER BY b.height DESC, b.hash;

-- name: ChainBlockDelete :exec
-- ChainBlockDelete forgets a block that left the best chain.
DELETE FROM chain_blocks WHERE network = @network AND height = @height AND hash = @hash;

-- name: SyncStatesRewind :exec
-- SyncStatesRewind lowers the incremental floor of every address of the
-- network synced above a reorg's fork height, so each one's next sync
-- walks down past the fork and finds the new chain's transactions there
-- (a rare, network-wide write: reorgs are rare).
UPDATE sync_states s
SET last_synced_height = @height::integer
FROM addresses a
WHERE a.id = s.address_id AND a.network = @network AND s.last_synced_height > @height::integer;
