-- name: UserUpsert :one
-- UserUpsert returns the user for a token's (issuer, subject), creating it
-- on first sight and refreshing the profile claims the token carries. A
-- claim the token omits keeps its stored value.
INSERT INTO users (issuer, subject, email, name)
VALUES (@issuer, @subject, sqlc.narg(email), sqlc.narg(name))
ON CONFLICT ON CONSTRAINT users_issuer_subject_key DO UPDATE
SET email = coalesce(EXCLUDED.email, users.email),
    name = coalesce(EXCLUDED.name, users.name),
    updated_at = CASE
        WHEN users.email IS DISTINCT FROM coalesce(EXCLUDED.email, users.email)
          OR users.name IS DISTINCT FROM coalesce(EXCLUDED.name, users.name)
        THEN now() ELSE users.updated_at END
RETURNING *;

-- name: UserGetByID :one
-- UserGetByID serves GET /v1/me (primary key).
SELECT * FROM users WHERE id = @id;
