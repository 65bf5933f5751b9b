-- name: UserUpsert :one
-- UserUpsert returns the user for a token's (issuer, subject), creating it
-- on first sight and refreshing the profile claims the token carries. A
-- claim the token omits keeps its stored value. An unchanged user is read,
-- not rewritten, so the common case writes nothing. When another session
-- creates the same user concurrently, neither part sees it and no row is
-- returned: Store.UpsertUser retries that once. written says whether the
-- row was inserted or changed (a replica may not have it yet).
WITH upserted AS (
    INSERT INTO users AS u (issuer, subject, email, name)
    VALUES (@issuer, @subject, sqlc.narg(email), sqlc.narg(name))
    ON CONFLICT ON CONSTRAINT users_issuer_subject_key DO UPDATE
    SET email = coalesce(EXCLUDED.email, u.email),
        name = coalesce(EXCLUDED.name, u.name),
        updated_at = now()
    WHERE (u.email, u.name) IS DISTINCT FROM
          (coalesce(EXCLUDED.email, u.email), coalesce(EXCLUDED.name, u.name))
    RETURNING u.*
)
SELECT upserted.*, true AS written FROM upserted
UNION ALL
SELECT users.*, false AS written FROM users
WHERE issuer = @issuer AND subject = @subject
  AND NOT EXISTS (SELECT 1 FROM upserted);

-- name: UserGetByID :one
-- UserGetByID serves GET /v1/me (primary key).
SELECT * FROM users WHERE id = @id;

-- name: UserQuotaUsage :one
-- UserQuotaUsage locks the user's row until the transaction ends, so two
-- requests of one user cannot both pass a quota check, and counts what the
-- quotas bound: watch-list entries added by hand (user_addresses_user_id_id_idx)
-- and xpubs (xpubs_user_id_id_idx).
SELECT (SELECT count(*) FROM user_addresses ua WHERE ua.user_id = u.id AND ua.xpub_id IS NULL)::integer AS addresses,
       (SELECT count(*) FROM xpubs x WHERE x.user_id = u.id)::integer AS xpubs
FROM users u
WHERE u.id = @user_id
FOR UPDATE OF u;

-- name: UserDataVersion :one
-- UserDataVersion is what a user's answers are made of, summarised by the
-- change stamps of migration 00021: their own row, their watch-list
-- entries with each address's ledger and sync state, their xpubs, the
-- chain tips (confirmations) and the prices (fiat values). Each count and
-- sum changes with every change the user could see, so the API's ETag is
-- derived from them; the ledger itself is not read (O(watch-list)). An
-- entry not yet revealed (migration 00016) shows nothing of its address
-- but a sync status of new or queued: only that counts for it, so its tag
-- says nothing of another user's sync of the address.
SELECT u.changed_seq AS user_stamp,
       e.entries,
       e.entry_stamps,
       e.ledger_stamps,
       e.sync_stamps,
       e.unrevealed,
       x.xpubs,
       x.xpub_stamps,
       (SELECT coalesce(sum(ct.changed_seq), 0) FROM chain_tips ct)::bigint AS tip_stamps,
       (SELECT s.changed_seq FROM shared_stamps s WHERE s.kind = 'prices')::bigint AS price_stamp
FROM users u
CROSS JOIN LATERAL (
    SELECT count(*)::bigint AS entries,
           coalesce(sum(ua.changed_seq), 0)::bigint AS entry_stamps,
           coalesce(sum(st.changed_seq) FILTER (WHERE ua.revealed), 0)::bigint AS ledger_stamps,
           coalesce(sum(ss.changed_seq) FILTER (WHERE ua.revealed), 0)::bigint AS sync_stamps,
           coalesce(string_agg(ua.id || ' ' || shown_sync_status(false, ss.status), ',' ORDER BY ua.id)
                    FILTER (WHERE NOT ua.revealed), '')::text AS unrevealed
    FROM user_addresses ua
    LEFT JOIN address_stamps st ON st.address_id = ua.address_id
    LEFT JOIN sync_states ss ON ss.address_id = ua.address_id
    WHERE ua.user_id = u.id
) e
CROSS JOIN LATERAL (
    SELECT count(*)::bigint AS xpubs,
           coalesce(sum(xp.changed_seq), 0)::bigint AS xpub_stamps
    FROM xpubs xp
    WHERE xp.user_id = u.id
) x
WHERE u.id = @user_id;
