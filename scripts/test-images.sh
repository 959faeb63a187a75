#!/usr/bin/env bash
# npm run test:images: builds the three service images for real and drives the demo through them.
#
#   1. starts a Docker engine (dockerd) if none answers, and stops it again at the end;
#   2. makes a local Node 20 base image once (debootstrap of Debian bookworm + this machine's node
#      and npm, imported with `docker import`), because no registry can be reached here; elsewhere
#      NODE_IMAGE=node:20.19.5-bookworm-slim (the Dockerfile's default) is used as is;
#   3. builds jwt-ms/{auth,users,orders}-service:local from docker/Dockerfile;
#   4. runs them read-only, non-root, without capabilities, on the host network against the local
#      Redis and PostgreSQL (fresh jwtms_test_images_* databases), waits for their HEALTHCHECKs;
#   5. runs scripts/demo.mjs against them, then removes the containers and the databases.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVICES=(auth-service users-service orders-service)
BASE_CACHE=${JWTMS_BASE_CACHE:-/var/cache/jwt-ms}
LOCAL_BASE=jwt-ms/node-base:20-local-r3 # bump the revision when the recipe below changes
PORT_BASE=${TEST_IMAGES_PORT_BASE:-4301}
POSTGRES_ADMIN_URL=${E2E_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
SUFFIX="$$"
say() { printf '\n== %s\n' "$*"; }
fail() { printf 'test:images: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || fail "docker is not installed: apt-get install docker.io (.ci/run does)"
command -v psql >/dev/null 2>&1 || fail "psql is not installed: apt-get install postgresql-client"

started_dockerd=""
containers=()
databases=()
workdir=$(mktemp -d)
cleanup() {
  local status=$?
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

say "images"
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
    -e AUTH_RATE_LIMIT_PER_IP=100000 -e AUTH_RATE_LIMIT_PER_ACCOUNT=100000
  )
  if [[ "$service" == auth-service ]]; then
    args+=(-v "$workdir/signing-jwks.json:/run/secrets/signing-jwks.json:ro" -e SIGNING_JWKS_FILE=/run/secrets/signing-jwks.json)
  else
    args+=(-e "AUTH_JWKS_URI=$auth_url/.well-known/jwks.json")
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

say "demo through the images"
AUTH_URL="$auth_url" USERS_URL="http://127.0.0.1:$((PORT_BASE + 1))" ORDERS_URL="http://127.0.0.1:$((PORT_BASE + 2))" \
  node scripts/demo.mjs
say "test:images passed"
