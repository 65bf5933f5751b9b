-- name: UserAddressesAdd :many
-- UserAddressesAdd puts a batch of addresses on users' watch-lists and
-- returns the entries it created; db.Track calls it. An xpub id of 0 means
-- none, and a label counts only where labelled is true (an empty label is
-- a label). An address the user already tracks keeps its entry as it is,
-- so a re-run writes nothing and deriving an xpub never takes over an
-- address the user added by hand.
INSERT INTO user_addresses (user_id, address_id, label, xpub_id)
SELECT w.user_id, w.address_id, CASE WHEN w.labelled THEN w.label END, nullif(w.xpub_id, 0)
FROM (SELECT unnest(@user_ids::bigint[]) AS user_id, unnest(@address_ids::bigint[]) AS address_id,
             unnest(@labels::text[]) AS label, unnest(@labelled::boolean[]) AS labelled,
             unnest(@xpub_ids::bigint[]) AS xpub_id) w
ON CONFLICT ON CONSTRAINT user_addresses_user_id_address_id_key DO NOTHING
RETURNING id, user_id, address_id;

-- name: UserAddressList :many
-- UserAddressList serves GET /v1/addresses: one page of the user's
-- watch-list in id order (keyset on user_addresses_user_id_id_idx), each
-- with its balance summary and sync status.
SELECT * FROM user_address_summaries
WHERE user_id = @user_id
  AND id > @after_id
ORDER BY id
LIMIT @max_rows;

-- name: UserAddressGet :one
-- UserAddressGet serves GET /v1/addresses/{id}. The user id is part of the
-- key, so another user's entry is simply not found.
SELECT * FROM user_address_summaries
WHERE user_id = @user_id AND id = @id;

-- name: UserAddressUpdateLabel :execrows
-- UserAddressUpdateLabel renames one of the user's entries (primary key,
-- scoped to the user); zero rows means not found.
UPDATE user_addresses
SET label = sqlc.narg(label)
WHERE user_id = @user_id AND id = @id;

-- name: UserAddressDelete :execrows
-- UserAddressDelete takes an address off the user's watch-list. Entries
-- derived from an xpub go with their xpub, so they are not deleted here.
-- The shared address and its chain data stay for other users.
DELETE FROM user_addresses
WHERE user_id = @user_id AND id = @id AND xpub_id IS NULL;
