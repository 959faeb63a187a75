#!/usr/bin/env bash
# Shared by kind-up.sh and minikube-up.sh: prerequisites, images, Secrets, rollout, demo.
# Sourced, not run.

NAMESPACE=jwt-ms
SERVICES=(auth-service users-service orders-service)
# The Deployments of the project's own images: the services and the browser console (apps/console).
DEPLOYMENTS=("${SERVICES[@]}" console)
# Every image build_images makes and the up scripts load into the cluster (never pulled).
IMAGES=()
for service in "${SERVICES[@]}"; do IMAGES+=("jwt-ms/${service}:local"); done
IMAGES+=(jwt-ms/console:local)
# shellcheck disable=SC2034 # used by the scripts that source this file
INGRESS_HOST=jwt.localtest.me

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

# require <command> <how to install>
require() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed: $2"
}

# The node the overlays are sized for (docs/kind.md, "Node size"; tools/deploy checks that the
# rendered requests fit it beside the system pods).
MIN_NODE_CPUS=2
MIN_NODE_MEMORY_MIB=4096

# require_free_port <port>: nothing may listen on 127.0.0.1:<port> (kind maps the ingress there).
require_free_port() {
  if node -e "require('net').connect($1, '127.0.0.1').on('connect', () => process.exit(1)).on('error', () => process.exit(0))"; then
    return 0
  fi
  fail "port $1 on 127.0.0.1 is in use by another program; kind's ingress needs it (stop that program, or see docs/kind.md)"
}

# require_ingress_name: the demo and the k6 scripts reach the ingress as ${INGRESS_HOST}, a public
# DNS name for 127.0.0.1. Some resolvers (a router's DNS-rebinding protection) drop such answers.
require_ingress_name() {
  if ! node -e "require('dns').lookup('${INGRESS_HOST}', { family: 4 }, (e, a) => process.exit(!e && a === '127.0.0.1' ? 0 : 1))"; then
    fail "${INGRESS_HOST} does not resolve to 127.0.0.1 here (a resolver that drops answers for 127.0.0.1?): add the line '127.0.0.1 ${INGRESS_HOST}' to /etc/hosts"
  fi
}

# require_node_size <cpus> <memory MiB> <what>: the overlays need MIN_NODE_CPUS and MIN_NODE_MEMORY_MIB.
require_node_size() {
  if (($1 < MIN_NODE_CPUS)); then
    fail "$3 has $1 CPUs; the system needs at least ${MIN_NODE_CPUS} (docs/kind.md, \"Node size\")"
  fi
  if (($2 < MIN_NODE_MEMORY_MIB)); then
    fail "$3 has $2 MiB of memory; the system needs at least ${MIN_NODE_MEMORY_MIB} (docs/kind.md, \"Node size\")"
  fi
}

# build_images: one image per service from docker/Dockerfile, tagged jwt-ms/<service>:local, and the
# console's from docker/console.Dockerfile (the same first stage: its npm ci layer is shared).
build_images() {
  local service
  for service in "${SERVICES[@]}"; do
    say "building jwt-ms/${service}:local"
    docker build -f docker/Dockerfile --build-arg "SERVICE=${service}" -t "jwt-ms/${service}:local" .
  done
  say "building jwt-ms/console:local"
  docker build -f docker/console.Dockerfile -t jwt-ms/console:local .
}

# create_secrets: the signing key set, the database passwords, the Redis users (ACL file and
# each service's URL) and the admin account, generated here, never committed.
# Existing Secrets are kept, so re-running does not rotate keys or lock out the database.
# A subshell, so that its EXIT trap removes the private folder however it ends.
create_secrets() (
  say "secrets"
  private=$(mktemp -d) # 0700: the key set and the passwords never sit on a command line or in a log
  trap 'rm -rf "$private"' EXIT
  if ! kubectl -n "$NAMESPACE" get secret jwt-ms-signing-keys >/dev/null 2>&1; then
    npm run -s keys:generate -- --alg ES256 >"$private/signing-jwks.json"
    kubectl -n "$NAMESPACE" create secret generic jwt-ms-signing-keys --from-file=signing-jwks.json="$private/signing-jwks.json"
  fi
  if ! kubectl -n "$NAMESPACE" get secret jwt-ms-database >/dev/null 2>&1; then
    postgres=$(openssl rand -hex 24)
    auth=$(openssl rand -hex 24)
    users=$(openssl rand -hex 24)
    orders=$(openssl rand -hex 24)
    cat >"$private/database.env" <<ENV
postgres-password=${postgres}
auth-password=${auth}
users-password=${users}
orders-password=${orders}
auth-url=postgres://auth:${auth}@postgres:5432/auth
users-url=postgres://users:${users}@postgres:5432/users
orders-url=postgres://orders:${orders}@postgres:5432/orders
ENV
    kubectl -n "$NAMESPACE" create secret generic jwt-ms-database --from-env-file="$private/database.env"
  fi
  if ! kubectl -n "$NAMESPACE" get secret jwt-ms-redis >/dev/null 2>&1; then
    REDIS_AUTH_PASSWORD=$(openssl rand -hex 24)
    REDIS_VERIFIER_PASSWORD=$(openssl rand -hex 24)
    export REDIS_AUTH_PASSWORD REDIS_VERIFIER_PASSWORD
    scripts/redis-acl.sh >"$private/users.acl"
    cat >"$private/redis.env" <<ENV
auth-url=redis://auth:${REDIS_AUTH_PASSWORD}@redis:6379
verifier-url=redis://verifier:${REDIS_VERIFIER_PASSWORD}@redis:6379
ENV
    kubectl -n "$NAMESPACE" create secret generic jwt-ms-redis \
      --from-file=users.acl="$private/users.acl" --from-env-file="$private/redis.env"
  fi
  # orders-service's client (the RFC 8693 exchange when an order is placed): a random secret for orders, only
  # its argon2id hash in the issuer's registry, beside the public first-party client.
  if ! kubectl -n "$NAMESPACE" get secret jwt-ms-oauth-clients >/dev/null 2>&1; then
    npm run -s clients:secret >"$private/orders-client.json"
    node - "$private" <<'NODE'
const { readFileSync, writeFileSync } = require('node:fs');
const dir = process.argv[2];
const { client_secret, client_secret_hash } = JSON.parse(readFileSync(`${dir}/orders-client.json`, 'utf8'));
const registry = JSON.parse(readFileSync('docker/oauth-clients.json', 'utf8')).filter((c) => c.client_id !== 'orders-service');
registry.push({
  client_id: 'orders-service',
  client_secret_hash,
  grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
  scope: 'profile:read',
  audience: ['users-service'],
  subject_token_audience: ['orders-service'],
});
writeFileSync(`${dir}/oauth-clients.json`, JSON.stringify(registry), { mode: 0o600 });
writeFileSync(`${dir}/client-secret`, client_secret, { mode: 0o600 });
NODE
    kubectl -n "$NAMESPACE" create secret generic jwt-ms-orders-client --from-file=client-secret="$private/client-secret"
    kubectl -n "$NAMESPACE" create secret generic jwt-ms-oauth-clients \
      --from-file=oauth-clients.json="$private/oauth-clients.json"
  fi
  # The admin account (key rotation, revoking a user's tokens): a random password, shown by
  # print_admin_hint, never printed here.
  if ! kubectl -n "$NAMESPACE" get secret jwt-ms-admin >/dev/null 2>&1; then
    cat >"$private/admin.env" <<ENV
email=${ADMIN_ACCOUNT}
password=$(openssl rand -hex 16)
ENV
    kubectl -n "$NAMESPACE" create secret generic jwt-ms-admin --from-env-file="$private/admin.env"
  fi
)

# The admin account's email (its password is generated into the jwt-ms-admin Secret).
ADMIN_ACCOUNT=admin@jwt.localtest.me

# print_admin_hint: how to read the admin password (not the password itself).
print_admin_hint() {
  printf 'admin: %s; password: kubectl -n %s get secret jwt-ms-admin -o jsonpath={.data.password} | base64 -d\n' \
    "$ADMIN_ACCOUNT" "$NAMESPACE"
}

# Settings of the auth service an operator may raise for a load test, from the environment of the up
# script (e.g. AUTH_RATE_LIMIT_PER_IP=1000000: every k6 virtual user comes from one address).
AUTH_OVERRIDES=(AUTH_RATE_LIMIT_PER_IP AUTH_RATE_LIMIT_PER_ACCOUNT AUTH_RATE_LIMIT_WINDOW_SECONDS
  AUTH_TOKEN_RATE_LIMIT_PER_IP AUTH_TOKEN_RATE_LIMIT_PER_CLIENT)

# apply_auth_overrides: the ConfigMap jwt-ms-auth-overrides holds the AUTH_OVERRIDES that are set,
# and is deleted when none is (the base settings apply again). The auth Deployment reads it last.
apply_auth_overrides() {
  local name args=()
  for name in "${AUTH_OVERRIDES[@]}"; do
    if [[ -n "${!name:-}" ]]; then args+=("--from-literal=${name}=${!name}"); fi
  done
  if ((${#args[@]})); then
    say "auth-service overrides: ${args[*]#--from-literal=}"
    kubectl -n "$NAMESPACE" create configmap jwt-ms-auth-overrides "${args[@]}" --dry-run=client -o yaml |
      kubectl -n "$NAMESPACE" apply -f -
  else
    kubectl -n "$NAMESPACE" delete configmap jwt-ms-auth-overrides --ignore-not-found
  fi
}

# install_metrics_server <kind|minikube>: the HPAs read CPU from metrics-server, which neither
# cluster has by default (without it their targets stay <unknown> and nothing scales).
METRICS_SERVER_VERSION=${METRICS_SERVER_VERSION:-v0.7.2}
install_metrics_server() {
  say "metrics-server (for the HorizontalPodAutoscalers)"
  if [[ "$1" == minikube ]]; then
    minikube addons enable metrics-server -p jwt-ms
  else
    kubectl apply -f "https://github.com/kubernetes-sigs/metrics-server/releases/download/${METRICS_SERVER_VERSION}/components.yaml"
    # kind's kubelets serve self-signed certificates.
    kubectl -n kube-system get deployment metrics-server -o jsonpath='{.spec.template.spec.containers[0].args}' |
      grep -- --kubelet-insecure-tls >/dev/null ||
      kubectl -n kube-system patch deployment metrics-server --type=json \
        -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'
  fi
  kubectl -n kube-system rollout status deployment/metrics-server --timeout=180s
}

# wait_for_ingress_controller: the controller's Deployment exists as soon as its manifest is
# applied, so `rollout status` cannot miss it as a `wait` on pods that do not exist yet can.
wait_for_ingress_controller() {
  kubectl -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=180s
}

# diagnose: what a failed rollout needs to be understood.
diagnose() {
  printf '\nThe rollout did not finish. Pods and recent events in %s:\n' "$NAMESPACE" >&2
  kubectl -n "$NAMESPACE" get pods -o wide >&2 || true
  kubectl -n "$NAMESPACE" get events --sort-by=.lastTimestamp 2>/dev/null | tail -n 20 >&2 || true
  cat >&2 <<'HINT'
If probes fail with timeouts on kind: some kindnet versions apply NetworkPolicies to the kubelet's
own probes (kubernetes-sigs/kind#3875). Check with
  kubectl -n jwt-ms delete networkpolicy default-deny-ingress services-from-ingress auth-from-resource-services
and re-run; a CNI such as Calico does not have this problem.
HINT
}

# deploy <overlay>: namespace first (the Secrets live in it), then the whole overlay; wait for rollouts.
# On a re-run the image tags (:local) do not change, so the Deployments are restarted to pick up the
# images just built and loaded.
deploy() {
  say "applying k8s/overlays/$1"
  kubectl apply -f k8s/base/namespace.yaml
  create_secrets
  apply_auth_overrides
  local service existing=()
  for service in "${DEPLOYMENTS[@]}"; do
    if kubectl -n "$NAMESPACE" get "deployment/${service}" >/dev/null 2>&1; then existing+=("deployment/${service}"); fi
  done
  kubectl apply -k "k8s/overlays/$1"
  if ((${#existing[@]})); then kubectl -n "$NAMESPACE" rollout restart "${existing[@]}"; fi
  kubectl -n "$NAMESPACE" rollout status statefulset/redis --timeout=180s || { diagnose; return 1; }
  kubectl -n "$NAMESPACE" rollout status statefulset/postgres --timeout=180s || { diagnose; return 1; }
  for service in "${DEPLOYMENTS[@]}"; do
    kubectl -n "$NAMESPACE" rollout status "deployment/${service}" --timeout=300s || { diagnose; return 1; }
  done
}

# check_console <base URL>: the ingress answers the console's page at / and its configuration names
# the issuer the services use (the ConfigMap's AUTH_ISSUER).
check_console() {
  say "console at $1/"
  local issuer
  issuer=$(kubectl -n "$NAMESPACE" get configmap jwt-ms-config -o jsonpath='{.data.AUTH_ISSUER}')
  node - "$1" "$issuer" <<'NODE'
const [base, issuer] = process.argv.slice(2);
(async () => {
  const page = await fetch(`${base}/`);
  const type = page.headers.get('content-type') ?? '';
  if (page.status !== 200 || !type.startsWith('text/html')) throw new Error(`GET / answered ${page.status} ${type}`);
  const config = await (await fetch(`${base}/console-config.json`)).json();
  if (config.issuer !== issuer) throw new Error(`the console names the issuer ${config.issuer}, not ${issuer}`);
  console.log(`the page (200 ${type}) and its configuration (issuer ${config.issuer})`);
})().catch((error) => {
  console.error(`console: ${error.message}`);
  process.exit(1);
});
NODE
}

# demo <base URL>: the README's demo, through the ingress.
demo() {
  say "demo through $1"
  # The demo makes orders-service's token exchange itself, to show it: it needs that client's secret.
  ORDERS_CLIENT_SECRET=$(kubectl -n "$NAMESPACE" get secret jwt-ms-orders-client -o jsonpath='{.data.client-secret}' | base64 -d) \
    AUTH_URL="$1" USERS_URL="$1" ORDERS_URL="$1" node scripts/demo.mjs
}
