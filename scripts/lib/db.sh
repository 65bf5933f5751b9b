# Shared by start_db.sh, stop_db.sh and db_client.sh: where the
# project-local PostgreSQL cluster lives and how to drive it.
#
# State lives in .data/ (git-ignored). As root, PostgreSQL runs as the
# postgres user, which may not reach the checkout (CI clones under a
# root-only home), so the cluster directory goes under the system temp
# directory instead and .data/pgdir records where.

say() { echo "start_db: $*" >&2; }

datadir=$PWD/.data
mkdir -p "$datadir"
chmod 700 "$datadir"

docker_engine() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

pg_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) /usr/local/pgsql/bin; do
    if [ -x "$d/initdb" ]; then echo "$d"; return; fi
  done
  echo "No PostgreSQL found: set DATABASE_URL, start a Docker engine, or install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql)." >&2
  exit 1
}

# as_pg runs a command as the cluster's owner: postgres when we are root
# (from /, since postgres may not be allowed into the checkout).
as_pg() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# pg_psql runs psql from PATH, or from the server's bin directory.
pg_psql() {
  if command -v psql >/dev/null 2>&1; then psql "$@"; else "$(pg_bindir)/psql" "$@"; fi
}

cluster_dir() {
  if [ -f "$datadir/pgdir" ]; then cat "$datadir/pgdir"; return; fi
  local dir
  if [ "$(id -u)" = 0 ]; then
    dir=${TMPDIR:-/tmp}/cointracker-pg-$(printf '%s' "$PWD" | sha256sum | cut -c1-12)
  else
    dir=$datadir/pg
  fi
  echo "$dir" >"$datadir/pgdir"
  echo "$dir"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
  local p
  for p in 5432 $(seq 55432 55531); do
    if ! port_in_use "$p"; then echo "$p"; return; fi
  done
  echo "start_db: no free port between 55432 and 55531" >&2
  exit 1
}

local_cluster_up() {
  local bin dir port
  bin=$(pg_bindir)
  dir=$(cluster_dir)
  if [ -s "$dir/PG_VERSION" ] && [ ! -s "$datadir/pgpassword" ]; then
    # A cluster left by an earlier checkout at this path, whose .data (and
    # password) went with it: nobody can log in to it, so start afresh.
    say "replacing the orphaned cluster in $dir"
    as_pg "$bin/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ ! -s "$dir/PG_VERSION" ] || [ ! -s "$datadir/pgpassword" ]; then
    say "creating a local PostgreSQL cluster in $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$datadir/pgpassword"
    chmod 600 "$datadir/pgpassword"
    local pwfile=$dir.pw
    install -m 600 "$datadir/pgpassword" "$pwfile"
    [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
    as_pg "$bin/initdb" -D "$dir" -U postgres --pwfile="$pwfile" \
      --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    # A disposable development and test cluster: durability is traded for
    # speed (no fsync), and it listens on loopback only.
    cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 512MB
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 4GB
checkpoint_timeout = 30min
CONF
    free_port >"$datadir/pgport"
  fi
  port=$(cat "$datadir/pgport")
  if as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    return
  fi
  if port_in_use "$port"; then
    port=$(free_port)
    echo "$port" >"$datadir/pgport"
  fi
  say "starting PostgreSQL on 127.0.0.1:$port"
  as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -o "-p $port" -w -t 60 start >/dev/null
}

local_cluster_down() {
  local dir
  dir=$(cluster_dir)
  if [ -s "$dir/PG_VERSION" ]; then
    as_pg "$(pg_bindir)/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

local_cluster_url() {
  echo "postgres://postgres:$(cat "$datadir/pgpassword")@127.0.0.1:$(cat "$datadir/pgport")/postgres?sslmode=disable"
}

# url_with_db replaces the database name in a postgres:// URL.
url_with_db() {
  local url=$1 db=$2 base query=""
  case $url in *\?*) query="?${url#*\?}" ;; esac
  base=${url%%\?*}
  echo "${base%/*}/$db$query"
}

# ensure_database creates database db on the server of url if missing;
# with fresh=true it drops it first.
ensure_database() {
  local url=$1 db=$2 fresh=${3:-false}
  if [ "$fresh" = true ]; then
    pg_psql "$url" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
  fi
  if ! pg_psql "$url" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    say "creating database $db"
    # A concurrent caller may win the race; then the database exists.
    pg_psql "$url" -qc "CREATE DATABASE \"$db\"" >/dev/null 2>&1 ||
      pg_psql "$url" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1
  fi
}
