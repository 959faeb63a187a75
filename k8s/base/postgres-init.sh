#!/bin/sh
# Runs once, on an empty PostgreSQL data directory (docker-entrypoint-initdb.d): one role and one
# database per service, each service owning its data; no other role may even connect to it
# (PUBLIC's default CONNECT and TEMP rights are revoked). Passwords come from the environment
# (AUTH_DB_PASSWORD, USERS_DB_PASSWORD, ORDERS_DB_PASSWORD), set from a Secret.
set -eu

create() {
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v role="$1" -v password="$2" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
}

create auth "$AUTH_DB_PASSWORD"
create users "$USERS_DB_PASSWORD"
create orders "$ORDERS_DB_PASSWORD"
