#!/usr/bin/env bash
# Prints the Redis ACL file (redis-server --aclfile) of this system, from two passwords given in the
# environment (never on a command line): REDIS_AUTH_PASSWORD and REDIS_VERIFIER_PASSWORD.
#
#   default   no password, PING only: the health checks (redis-cli ping).
#   auth      the issuer: reads and writes its own keys (jwtms:*), runs the revocation
#             script; no dangerous command (FLUSHALL, KEYS, CONFIG, DEBUG…), no server-wide one
#             (FUNCTION, SCRIPT FLUSH, MEMORY), no moving keys to another database, no other key.
#   verifier  the resource services: read-only on jwtms:* (GET, HSCAN, XREAD, XINFO STREAM: the
#             revocation list and its log), PING, and the read-only CLUSTER subcommands a Redis
#             Cluster client discovers the slots with; nothing else. A compromised resource service
#             can neither forget a revocation nor flush the list.
#
# Passwords are stored as SHA-256 hashes (#…), as Redis accepts them.
set -euo pipefail
: "${REDIS_AUTH_PASSWORD:?set REDIS_AUTH_PASSWORD}" "${REDIS_VERIFIER_PASSWORD:?set REDIS_VERIFIER_PASSWORD}"
sha256() { printf '%s' "$1" | sha256sum | cut -d ' ' -f 1; }
cat <<ACL
user default on nopass resetkeys resetchannels -@all +ping
user auth on #$(sha256 "$REDIS_AUTH_PASSWORD") resetkeys ~jwtms:* resetchannels +@all -@dangerous -function -script|flush -move -copy -memory -client|tracking -randomkey -scan -object -wait -swapdb
user verifier on #$(sha256 "$REDIS_VERIFIER_PASSWORD") resetkeys %R~jwtms:* resetchannels -@all +ping +select +get +hscan +xread +xinfo|stream +hello +client|setname +readonly +asking +cluster|slots +cluster|shards +cluster|nodes
ACL
