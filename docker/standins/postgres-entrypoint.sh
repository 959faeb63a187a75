#!/bin/sh
# What the official postgres image's entry point does, as far as compose.yaml relies on it: on an
# empty data directory, initdb with POSTGRES_PASSWORD for the superuser, run the scripts in
# /docker-entrypoint-initdb.d against a server that listens on no TCP address, then serve on all
# addresses with password (scram-sha-256) authentication.
set -eu
export PGDATA=/var/lib/postgresql/data POSTGRES_USER="${POSTGRES_USER:-postgres}"
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 0700 "$PGDATA"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" >"$pwfile"
  chown postgres "$pwfile"
  as_postgres initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  as_postgres pg_ctl --wait --silent -o "-c listen_addresses=''" start
  for script in /docker-entrypoint-initdb.d/*.sh; do
    [ -e "$script" ] && as_postgres sh "$script"
  done
  as_postgres pg_ctl --wait --silent -m fast stop
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -c listen_addresses='*'
