#!/usr/bin/env bash
# npm run test:images: builds the three service images and the console's for real and drives the
# demo through them.
#
#   1. starts a Docker engine (dockerd) if none answers, and stops it again at the end;
#   2. makes a local Node 20 base image once (debootstrap of Debian bookworm with a compiler + this
#      machine's node, its headers and npm, imported with `docker import`), because no registry can
#      be reached here; elsewhere NODE_IMAGE=node:20.19.5-bookworm-slim (the Dockerfile's default)
#      can be given and is used as is;
#   3. builds jwt-ms/{auth,users,orders}-service:local from docker/Dockerfile and jwt-ms/console:local
#      from docker/console.Dockerfile;
#   4. runs them read-only, non-root, without capabilities, on the host network against the local
#      Redis and PostgreSQL (fresh jwtms_test_images_* databases), waits for their HEALTHCHECKs, and
#      checks the console's page (its CSP) and configuration;
#   5. runs scripts/demo.mjs against them, then removes the containers and the databases;
#   6. runs compose.yaml (docker compose, or Debian's docker-compose 1.29) with two replicas of each
#      service and of the console behind the HAProxy gateway: round-robin, the console at / and
#      its 404s for paths no service takes, clean starts (no
#      restart, no failed migration), Redis refusing a resource service's writes, the demo through
#      the gateway, and a third users replica that the gateway must find. With the local base,
#      docker/standins/compose.standins.yaml swaps the official redis, postgres and haproxy images
#      (not reachable here) for Debian's packages of the same servers; everything else is as is.
#      TEST_IMAGES_COMPOSE=0 skips this step.
# Ports: TEST_IMAGES_PORT_BASE (4301-4304) and TEST_IMAGES_GATEWAY_PORT (4380).
set -euo pipefail
cd "$(dirname "$0")/.."

SERVICES=(auth-service users-service orders-service)
BASE_CACHE=${JWTMS_BASE_CACHE:-/var/cache/jwt-ms}
LOCAL_BASE=jwt-ms/node-base:20-local-r3 # bump the revision when the recipe below changes
PORT_BASE=${TEST_IMAGES_PORT_BASE:-4301}
GATEWAY_PORT=${TEST_IMAGES_GATEWAY_PORT:-4380}
POSTGRES_ADMIN_URL=${E2E_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
SUFFIX="$$"
say() { printf '\n== %s\n' "$*"; }
fail() { printf 'test:images: %s\n' "$*" >&2; exit 1; }

# check_console <base URL> <issuer>: GET / answers the page (200 text/html) under a Content-Security-Policy
# without unsafe-inline, and /console-config.json names <issuer>.
check_console() {
  local answer policy issuer
  answer=$(curl -sS -D - -o /dev/null "$1/" | tr -d '\r')
  grep -q '^HTTP/[0-9.]* 200' <<<"$answer" || fail "GET $1/: expected 200, got: $(head -n 1 <<<"$answer")"
  grep -qi '^content-type: text/html' <<<"$answer" || fail "GET $1/ is not text/html"
  policy=$(awk -F': ' 'tolower($1) == "content-security-policy" {print $2}' <<<"$answer")
  [[ "$policy" == *"script-src 'self'"* ]] || fail "GET $1/: no script-src 'self' in its CSP ($policy)"
  [[ "$policy" != *unsafe-inline* ]] || fail "GET $1/: its CSP allows unsafe-inline ($policy)"
  issuer=$(curl -fsS "$1/console-config.json" | node -e \
    "let s = ''; process.stdin.on('data', (d) => (s += d)).on('end', () => console.log(JSON.parse(s).issuer))")
  [[ "$issuer" == "$2" ]] || fail "$1/console-config.json names the issuer '$issuer', not $2"
  echo "console at $1/: the page (200 text/html, CSP without unsafe-inline), issuer $issuer"
}

command -v docker >/dev/null 2>&1 || fail "docker is not installed: apt-get install docker.io (.ci/run does)"
command -v psql >/dev/null 2>&1 || fail "psql is not installed: apt-get install postgresql-client"

started_dockerd=""
containers=()
databases=()
compose=()
workdir=$(mktemp -d)
cleanup() {
  local status=$?
  if ((${#compose[@]})); then
    if ((status != 0)); then "${compose[@]}" logs --no-color --tail 30 >&2 2>/dev/null || true; fi
    "${compose[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true
  fi
  if ((${#containers[@]})); then docker rm -f "${containers[@]}" >/dev/null 2>&1 || true; fi
  for db in "${databases[@]}"; do
    psql "$POSTGRES_ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  if [[ -n "$started_dockerd" ]]; then kill "$started_dockerd" 2>/dev/null || true; fi
  rm -rf "$workdir"
  exit "$status"
}
trap cleanup EXIT

say "Docker engine"
if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null 2>&1 || fail "dockerd is not installed: apt-get install docker.io"
  dockerd >"$workdir/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { cat "$workdir/dockerd.log" >&2; fail "dockerd did not start"; }
fi
docker version --format 'engine {{.Server.Version}}'

say "base image"
node_image=${NODE_IMAGE:-}
if [[ -z "$node_image" ]]; then
  node_image=$LOCAL_BASE
  if ! docker image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null 2>&1 || fail "debootstrap is not installed: apt-get install debootstrap"
    # With a compiler: this machine's node is Debian's build, which the prebuilt argon2 binding
    # crashes (it does on the host too), so `npm ci` compiles argon2 and better-sqlite3 from
    # source, against this node's own headers, as it does on the host.
    rootfs="$BASE_CACHE/bookworm-minbase-toolchain"
    if [[ ! -x "$rootfs/usr/bin/g++" ]]; then
      mkdir -p "$BASE_CACHE"
      rm -rf "$rootfs.partial"
      debootstrap --variant=minbase --include=python3,make,g++ bookworm "$rootfs.partial" http://deb.debian.org/debian \
        >"$workdir/debootstrap.log" 2>&1 ||
        { tail -20 "$workdir/debootstrap.log" >&2; fail "debootstrap failed"; }
      mv "$rootfs.partial" "$rootfs"
    fi
    # This machine's Node 20 and npm, copied in: what the official slim image would hold.
    node_bin=$(command -v node)
    npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
    image_root="$workdir/rootfs"
    cp -a "$rootfs" "$image_root"
    install -m 0755 "$node_bin" "$image_root/usr/local/bin/node"
    mkdir -p "$image_root/usr/local/lib/node_modules"
    cp -a "$npm_dir" "$image_root/usr/local/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$image_root/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$image_root/usr/local/bin/npx"
    node_headers=$(dirname "$(dirname "$node_bin")")/include/node
    [[ -f "$node_headers/node_api.h" ]] || fail "node's headers are not in $node_headers (node-gyp needs them offline)"
    mkdir -p "$image_root/usr/local/include"
    cp -a "$node_headers" "$image_root/usr/local/include/node"
    cp /etc/resolv.conf "$image_root/etc/resolv.conf"
    # This machine's trust store (public CA certificates, including any its network requires for
    # the npm registry), so that `npm ci` in the build works as it does on the host.
    mkdir -p "$image_root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$image_root/etc/ssl/certs/ca-certificates.crt"
    tar -C "$image_root" -c . | docker import \
      --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
      --change 'ENV npm_config_cafile=/etc/ssl/certs/ca-certificates.crt' \
      --change 'ENV npm_config_nodedir=/usr/local' \
      - "$LOCAL_BASE" >/dev/null
  fi
fi
base_size=$(docker image inspect "$node_image" --format '{{.Size}}')
echo "NODE_IMAGE=$node_image ($((base_size / 1000000)) MB)"

say "images (layers cached by an earlier run are reused: a build can take seconds)"
for service in "${SERVICES[@]}"; do
  # The legacy builder: no buildx plugin is installed here (elsewhere, BuildKit builds the same file).
  started=$SECONDS
  DOCKER_BUILDKIT=0 docker build -f docker/Dockerfile \
    --build-arg "NODE_IMAGE=$node_image" --build-arg "SERVICE=$service" \
    -t "jwt-ms/$service:local" . >"$workdir/build-$service.log" 2>&1 ||
    { tail -40 "$workdir/build-$service.log" >&2; fail "docker build of $service failed"; }
  size=$(docker image inspect "jwt-ms/$service:local" --format '{{.Size}}')
  echo "jwt-ms/$service:local built in $((SECONDS - started)) s, $((size / 1000000)) MB" \
    "($(((size - base_size) / 1000000)) MB above the base), user $(docker image inspect "jwt-ms/$service:local" --format '{{.Config.User}}')"
done
# The console: its first stage is docker/Dockerfile's, so the workspace's npm ci layer is reused.
started=$SECONDS
DOCKER_BUILDKIT=0 docker build -f docker/console.Dockerfile --build-arg "NODE_IMAGE=$node_image" \
  -t jwt-ms/console:local . >"$workdir/build-console.log" 2>&1 ||
  { tail -40 "$workdir/build-console.log" >&2; fail "docker build of the console failed"; }
size=$(docker image inspect jwt-ms/console:local --format '{{.Size}}')
echo "jwt-ms/console:local built in $((SECONDS - started)) s, $((size / 1000000)) MB" \
  "($(((size - base_size) / 1000000)) MB above the base), user $(docker image inspect jwt-ms/console:local --format '{{.Config.User}}')"

say "containers"
npm run -s keys:generate -- --alg ES256 >"$workdir/signing-jwks.json"
chmod 0644 "$workdir/signing-jwks.json" # read by the image's non-root user; the folder is private
port=$PORT_BASE
auth_url="http://127.0.0.1:$PORT_BASE"
for service in "${SERVICES[@]}"; do
  db="jwtms_test_images_${service%-service}_$SUFFIX"
  psql "$POSTGRES_ADMIN_URL" -qc "CREATE DATABASE \"$db\"" >/dev/null
  databases+=("$db")
  args=(
    --detach --name "jwtms-$service-$SUFFIX" --network host
    --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges
    -e "PORT=$port" -e HOST=127.0.0.1 -e "INSTANCE_ID=$service-image"
    -e "REDIS_URL=$REDIS_URL" -e "AUTH_ISSUER=$auth_url"
    -e "DATABASE_URL=${POSTGRES_ADMIN_URL%/*}/$db"
    -e AUTH_RATE_LIMIT_PER_IP=100000 -e AUTH_RATE_LIMIT_PER_ACCOUNT=100000 -e AUTH_TOKEN_RATE_LIMIT_PER_IP=100000
  )
  if [[ "$service" == auth-service ]]; then
    args+=(-v "$workdir/signing-jwks.json:/run/secrets/signing-jwks.json:ro" -e SIGNING_JWKS_FILE=/run/secrets/signing-jwks.json)
    args+=(-e "OAUTH_CLIENTS=$(cat docker/oauth-clients.json)")
  else
    args+=(-e "AUTH_JWKS_URI=$auth_url/.well-known/jwks.json")
  fi
  if [[ "$service" == orders-service ]]; then
    # orders calls users on the customer's behalf, as the registry's orders-service (docker/oauth-clients.json).
    args+=(-e "USERS_SERVICE_URL=http://127.0.0.1:$((PORT_BASE + 1))" -e OAUTH_CLIENT_SECRET=compose-only-orders-client-secret)
  fi
  containers+=("$(docker run "${args[@]}" "jwt-ms/$service:local")")
  # Wait for the image's own HEALTHCHECK before starting the next one (the verifiers need the JWKS).
  for _ in $(seq 1 60); do
    health=$(docker inspect --format '{{.State.Health.Status}}' "jwtms-$service-$SUFFIX")
    [[ "$health" == healthy ]] && break
    [[ "$(docker inspect --format '{{.State.Running}}' "jwtms-$service-$SUFFIX")" == true ]] ||
      { docker logs "jwtms-$service-$SUFFIX" >&2; fail "$service exited"; }
    sleep 1
  done
  [[ "$health" == healthy ]] || { docker logs "jwtms-$service-$SUFFIX" >&2; fail "$service never became healthy"; }
  echo "$service healthy on 127.0.0.1:$port (user $(docker exec "jwtms-$service-$SUFFIX" id -u))"
  port=$((port + 1))
done

# The console, hardened alike, named the auth container as its issuer; its own HEALTHCHECK first.
console_port=$((PORT_BASE + 3))
containers+=("$(docker run --detach --name "jwtms-console-$SUFFIX" --network host \
  --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
  -e "PORT=$console_port" -e HOST=127.0.0.1 -e "CONSOLE_ISSUER=$auth_url" jwt-ms/console:local)")
for _ in $(seq 1 60); do
  health=$(docker inspect --format '{{.State.Health.Status}}' "jwtms-console-$SUFFIX")
  [[ "$health" == healthy ]] && break
  [[ "$(docker inspect --format '{{.State.Running}}' "jwtms-console-$SUFFIX")" == true ]] ||
    { docker logs "jwtms-console-$SUFFIX" >&2; fail "the console exited"; }
  sleep 1
done
[[ "$health" == healthy ]] || { docker logs "jwtms-console-$SUFFIX" >&2; fail "the console never became healthy"; }
echo "console healthy on 127.0.0.1:$console_port (user $(docker exec "jwtms-console-$SUFFIX" id -u))"
check_console "http://127.0.0.1:$console_port" "$auth_url"

say "demo through the images"
AUTH_URL="$auth_url" USERS_URL="http://127.0.0.1:$((PORT_BASE + 1))" ORDERS_URL="http://127.0.0.1:$((PORT_BASE + 2))" \
  ORDERS_CLIENT_SECRET=compose-only-orders-client-secret node scripts/demo.mjs
# Stop the single containers and drop their databases before the compose run.
docker rm -f "${containers[@]}" >/dev/null
containers=()

if [[ "${TEST_IMAGES_COMPOSE:-1}" != 0 ]]; then
  if docker compose version >/dev/null 2>&1; then
    compose_cli=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    compose_cli=(docker-compose)
  else
    fail "no compose: apt-get install docker-compose (.ci/run does), or TEST_IMAGES_COMPOSE=0"
  fi
  say "compose: $("${compose_cli[@]}" version --short 2>/dev/null || "${compose_cli[@]}" version | sed -n 1p)"
  files=(-f compose.yaml)
  if [[ "$node_image" == "$LOCAL_BASE" ]]; then
    started=$SECONDS
    DOCKER_BUILDKIT=0 docker build --build-arg "BASE_IMAGE=$node_image" -t jwt-ms/standins:local docker/standins \
      >"$workdir/build-standins.log" 2>&1 ||
      { tail -40 "$workdir/build-standins.log" >&2; fail "docker build of the stand-ins failed"; }
    echo "jwt-ms/standins:local (Debian's redis-server, postgresql-15, haproxy) built in $((SECONDS - started)) s"
    files+=(-f docker/standins/compose.standins.yaml)
    cp "$workdir/signing-jwks.json" "$workdir/compose-signing-jwks.json"
    export STANDINS_SIGNING_JWKS_FILE="$workdir/compose-signing-jwks.json"
  else
    [[ -f docker/signing-jwks.json ]] || fail "docker/signing-jwks.json is missing: npm run -s keys:generate > docker/signing-jwks.json"
  fi
  export GATEWAY_PORT
  compose=("${compose_cli[@]}" -p "jwtms-test-images-$SUFFIX" "${files[@]}")
  started=$SECONDS
  # No build: the images above are the ones under test (a user's `up --build` builds the same).
  "${compose[@]}" up --detach --no-build >"$workdir/compose-up.log" 2>&1 ||
    { cat "$workdir/compose-up.log" >&2; fail "compose up failed"; }
  echo "compose up returned in $((SECONDS - started)) s (it waits for each tier's health checks)"
  gateway="http://127.0.0.1:$GATEWAY_PORT"
  # The gateway routes once its own checks (every 2 s, 2 in a row) see the replicas ready.
  ready=""
  for _ in $(seq 1 60); do
    if curl -fsS -o /dev/null "$gateway/.well-known/jwks.json" 2>/dev/null &&
      [[ "$(curl -sS -o /dev/null -w '%{http_code}' "$gateway/users/me" 2>/dev/null)" == 401 ]] &&
      curl -fsS -o /dev/null "$gateway/console-config.json" 2>/dev/null; then
      ready=yes
      break
    fi
    sleep 1
  done
  [[ -n "$ready" ]] || fail "the gateway on $gateway did not route to auth, users and the console within 60 s"
  replicas=$("${compose[@]}" ps -q auth users orders | wc -l)
  echo "gateway on $gateway routing after $((SECONDS - started)) s; $replicas service containers"
  ((replicas == 6)) || fail "expected 2 replicas of each of the 3 services, found $replicas containers"
  consoles=$("${compose[@]}" ps -q console | wc -l)
  ((consoles == 2)) || fail "expected 2 console replicas, found $consoles containers"
  # The console at /, through the gateway, naming the services' issuer (compose.yaml's AUTH_ISSUER).
  check_console "$gateway" "http://localhost:$GATEWAY_PORT"
  # Round-robin: successive answers through the gateway come from different replicas.
  instances=$(for _ in 1 2 3 4; do curl -fsS -D - -o /dev/null "$gateway/.well-known/jwks.json" | tr -d '\r' |
    awk -F': ' 'tolower($1) == "x-instance-id" {print $2}'; done | sort -u | wc -l)
  echo "auth answers through the gateway came from $instances replicas"
  ((instances == 2)) || fail "the gateway did not rotate over both auth replicas ($instances seen)"
  # A path no service serves is the console's 404 (problem+json), not a 503 from an empty backend;
  # /auth without a slash still goes to the auth service (which has no such route).
  for path in /nowhere /auth; do
    answer=$(curl -sS -D - -o /dev/null "$gateway$path" | tr -d '\r')
    grep -q '^HTTP/[0-9.]* 404' <<<"$answer" || fail "GET $path through the gateway: expected 404, got: $(head -n 1 <<<"$answer")"
    grep -qi '^content-type: application/problem+json' <<<"$answer" || fail "GET $path: the 404 is not problem+json"
  done
  grep -qi '^x-instance-id:' <<<"$answer" || fail "GET /auth was not routed to the auth service"
  echo "unrouted paths: 404 problem+json from the console; /auth reaches the auth service"
  # Every replica started cleanly: none restarted, none logged a failed migration (replicas migrate
  # one empty database at once, under a lock).
  mapfile -t service_containers < <("${compose[@]}" ps -q auth users orders console)
  restarts=$(docker inspect --format '{{.RestartCount}}' "${service_containers[@]}" | awk '{s+=$1} END {print s+0}')
  ((restarts == 0)) || fail "$restarts service container restart(s) during start"
  if "${compose[@]}" logs --no-color auth users orders 2>&1 | grep -E 'Migration .* failed|QueryFailedError'; then
    fail "a replica's migrations failed at start"
  fi
  echo "6 service and 2 console replicas started with no restart, and no failed migration"
  # A resource service is read-only on Redis (docker/redis-users.acl): from inside an orders
  # container, with its own credentials, flushing or overwriting the revocation list is refused.
  orders_container=$("${compose[@]}" ps -q orders | sed -n 1p)
  for command in "['FLUSHALL']" "['HSET', 'jwtms:{revocation}:entries', 'jti:x', '1']"; do
    verdict=$(docker exec "$orders_container" node -e "
      const client = require('redis').createClient({ url: process.env.REDIS_URL });
      client.connect()
        .then(() => client.sendCommand($command))
        .then(() => console.log('allowed'), (error) => console.log(error.message.split(' ')[0]))
        .finally(() => client.quit().catch(() => {}));")
    [[ "$verdict" == NOPERM ]] || fail "orders-service could run $command on Redis ($verdict)"
  done
  echo "Redis refuses FLUSHALL and writes from a resource service (NOPERM)"
  say "demo through the compose gateway"
  AUTH_URL="$gateway" USERS_URL="$gateway" ORDERS_URL="$gateway" ORDERS_CLIENT_SECRET=compose-only-orders-client-secret \
    node scripts/demo.mjs
  say "compose: scale users to 3"
  "${compose[@]}" up --detach --no-build --scale users=3 >>"$workdir/compose-up.log" 2>&1 ||
    { cat "$workdir/compose-up.log" >&2; fail "compose up --scale users=3 failed"; }
  # The gateway learns of the new replica through Docker's DNS and its readiness check.
  started=$SECONDS
  instances=0
  for _ in $(seq 1 60); do
    instances=$(for _ in 1 2 3 4 5 6; do curl -sS -D - -o /dev/null "$gateway/users/me" | tr -d '\r' |
      awk -F': ' 'tolower($1) == "x-instance-id" {print $2}'; done | sort -u | wc -l)
    ((instances == 3)) && break
    sleep 1
  done
  echo "users answers through the gateway came from $instances replicas, $((SECONDS - started)) s after \`up --scale\` returned"
  ((instances == 3)) || fail "the gateway did not pick up the third users replica"
fi
# This Dockerfile's build and dependencies stages stay behind as the next run's cache; those older
# than a day go. Nothing else on the engine is touched.
docker image prune --force --filter label=jwt-ms.stage --filter until=24h >/dev/null
say "test:images passed"
