#!/usr/bin/env bash
# Shared by kind-up.sh and minikube-up.sh: prerequisites, images, Secrets, rollout, demo.
# Sourced, not run.

NAMESPACE=jwt-ms
SERVICES=(auth-service users-service orders-service)
# shellcheck disable=SC2034 # used by the scripts that source this file
INGRESS_HOST=jwt.localtest.me

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

# require <command> <how to install>
require() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed: $2"
}

# build_images: one image per service from docker/Dockerfile, tagged jwt-ms/<service>:local.
build_images() {
  local service
  for service in "${SERVICES[@]}"; do
    say "building jwt-ms/${service}:local"
    docker build -f docker/Dockerfile --build-arg "SERVICE=${service}" -t "jwt-ms/${service}:local" .
  done
}

# create_secrets: the signing key set and the database passwords, generated here, never committed.
# Existing Secrets are kept, so re-running does not rotate keys or lock out the database.
create_secrets() {
  say "secrets"
  if ! kubectl -n "$NAMESPACE" get secret jwt-ms-signing-keys >/dev/null 2>&1; then
    local keys
    keys=$(mktemp)
    npm run -s keys:generate -- --alg ES256 >"$keys"
    kubectl -n "$NAMESPACE" create secret generic jwt-ms-signing-keys --from-file=signing-jwks.json="$keys"
    rm -f "$keys"
  fi
  if ! kubectl -n "$NAMESPACE" get secret jwt-ms-database >/dev/null 2>&1; then
    local postgres auth users orders
    postgres=$(openssl rand -hex 24)
    auth=$(openssl rand -hex 24)
    users=$(openssl rand -hex 24)
    orders=$(openssl rand -hex 24)
    kubectl -n "$NAMESPACE" create secret generic jwt-ms-database \
      --from-literal=postgres-password="$postgres" \
      --from-literal=auth-password="$auth" \
      --from-literal=users-password="$users" \
      --from-literal=orders-password="$orders" \
      --from-literal=auth-url="postgres://auth:${auth}@postgres:5432/auth" \
      --from-literal=users-url="postgres://users:${users}@postgres:5432/users" \
      --from-literal=orders-url="postgres://orders:${orders}@postgres:5432/orders"
  fi
}

# deploy <overlay>: namespace first (the Secrets live in it), then the whole overlay; wait for rollouts.
deploy() {
  say "applying k8s/overlays/$1"
  kubectl apply -f k8s/base/namespace.yaml
  create_secrets
  kubectl apply -k "k8s/overlays/$1"
  kubectl -n "$NAMESPACE" rollout status statefulset/redis --timeout=180s
  kubectl -n "$NAMESPACE" rollout status statefulset/postgres --timeout=180s
  local service
  for service in "${SERVICES[@]}"; do
    kubectl -n "$NAMESPACE" rollout status "deployment/${service}" --timeout=300s
  done
}

# demo <base URL>: the README's demo, through the ingress.
demo() {
  say "demo through $1"
  AUTH_URL="$1" USERS_URL="$1" ORDERS_URL="$1" node scripts/demo.mjs
}
