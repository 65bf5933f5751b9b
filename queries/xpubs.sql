-- name: XpubCreate :one
-- XpubCreate starts tracking an extended public key for a user. It fails on
-- xpubs_user_id_xpub_key when the user already tracks it.
INSERT INTO xpubs (user_id, network, xpub, purpose, label)
VALUES (@user_id, @network, @xpub, @purpose, sqlc.narg(label))
RETURNING *;

-- name: XpubUpsert :one
-- XpubUpsert returns the user's xpub row, creating it when new (the
-- fixtures use it). An existing row is read, not rewritten.
WITH inserted AS (
    INSERT INTO xpubs (user_id, network, xpub, purpose, label)
    VALUES (@user_id, @network, @xpub, @purpose, sqlc.narg(label))
    ON CONFLICT ON CONSTRAINT xpubs_user_id_xpub_key DO NOTHING
    RETURNING *
)
SELECT * FROM inserted
UNION ALL
SELECT * FROM xpubs
WHERE user_id = @user_id AND xpub = @xpub
  AND NOT EXISTS (SELECT 1 FROM inserted);

-- name: XpubAddressesUpsert :exec
-- XpubAddressesUpsert records a batch of derived addresses, of one xpub or
-- several (primary key (xpub_id, chain, index)); re-deriving is a no-op.
-- db.Track calls it.
INSERT INTO xpub_addresses (xpub_id, chain, index, address_id)
SELECT unnest(@xpub_ids::bigint[]), unnest(@chains::text[]), unnest(@indexes::integer[]),
       unnest(@address_ids::bigint[])
ON CONFLICT (xpub_id, chain, index) DO NOTHING;

-- name: XpubAddressList :many
-- XpubAddressList lists the derived addresses of some of a user's xpubs in
-- derivation order (primary key: receive chain first), with the watch-list
-- entry each is tracked as and its sync status (as the entry shows it,
-- migration 00016). Scoped to the owning user.
SELECT xa.xpub_id, xa.chain, xa.index, a.address, ua.id AS address_id,
       shown_sync_status(coalesce(ua.revealed, false), s.status) AS sync_status
FROM xpub_addresses xa
JOIN xpubs x ON x.id = xa.xpub_id
JOIN addresses a ON a.id = xa.address_id
LEFT JOIN user_addresses ua ON ua.user_id = x.user_id AND ua.address_id = xa.address_id
LEFT JOIN sync_states s ON s.address_id = xa.address_id
WHERE xa.xpub_id = ANY (@xpub_ids::bigint[]) AND x.user_id = @user_id
ORDER BY xa.xpub_id, xa.chain DESC, xa.index;

-- name: XpubList :many
-- XpubList serves GET /v1/xpubs: one page of the user's xpubs in id order
-- (keyset on xpubs_user_id_id_idx).
SELECT * FROM xpubs
WHERE user_id = @user_id AND id > @after_id
ORDER BY id
LIMIT @max_rows;

-- name: XpubGet :one
-- XpubGet returns one of the user's xpubs; another user's is not found.
SELECT * FROM xpubs WHERE user_id = @user_id AND id = @id;

-- name: XpubDelete :execrows
-- XpubDelete stops tracking an xpub. Its derived addresses leave the
-- watch-list with it (ON DELETE CASCADE); their chain data stays.
DELETE FROM xpubs WHERE user_id = @user_id AND id = @id;

-- name: XpubDerivedCount :one
-- XpubDerivedCount is how many addresses an xpub has derived, both
-- chains (the xpub_addresses primary key).
SELECT count(*)::integer FROM xpub_addresses WHERE xpub_id = @xpub_id;
