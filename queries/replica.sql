-- Read-replica routing (db.Reads).

-- name: ReplicaState :one
-- ReplicaState runs on the replica: whether it is one (in recovery), how
-- far it has replayed the primary's WAL (bytes from 0/0) and how far
-- behind it is, in milliseconds. A replica that streams and has replayed
-- all it received is current (0); otherwise the lag is the age of the
-- last transaction it replayed (pg_last_xact_replay_timestamp), which
-- also grows while the primary is idle: reads then go to the primary,
-- the safe side.
SELECT
    pg_is_in_recovery() AS in_recovery,
    coalesce((pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, 0)::bigint AS replayed,
    (CASE
        WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_wal_receiver WHERE status = 'streaming')
             AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
        ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000, 9e15)
    END)::bigint AS lag_ms;

-- name: WALPosition :one
-- WALPosition runs on the primary: where its WAL ends (bytes from 0/0),
-- so a client's reads can wait for a replica to replay its last write.
SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS position;
