#!/usr/bin/env bash
# Creates a kind cluster, installs ingress-nginx and metrics-server, builds and loads the three
# service images and the console's, deploys k8s/overlays/kind, waits for every rollout, runs the demo
# through http://jwt.localtest.me and checks the console there. Re-running it rebuilds the images and restarts the Deployments.
# Needs: docker, kind, kubectl, node/npm (after `npm ci`), openssl; network access to pull
# kindest/node, ingress-nginx, metrics-server, redis and postgres images; ports 80 and 443 free on
# 127.0.0.1; jwt.localtest.me resolving to 127.0.0.1; a Docker engine with 2 CPUs and 4 GiB.
# AUTH_RATE_LIMIT_PER_IP / _PER_ACCOUNT / _WINDOW_SECONDS, if set, override the auth service's
# (for a load test: every k6 virtual user comes from one address).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/k8s-lib.sh
source scripts/k8s-lib.sh

INGRESS_NGINX_VERSION=${INGRESS_NGINX_VERSION:-controller-v1.12.1}

require docker "https://docs.docker.com/engine/install/"
require kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
require kubectl "https://kubernetes.io/docs/tasks/tools/"
require npm "Node 20 with npm, then npm ci"
require openssl "apt-get install openssl"
docker info >/dev/null 2>&1 || fail "docker does not answer: start the Docker engine"
require_ingress_name
# kind's node is a container: it has what the Docker engine (or Docker Desktop's VM) has.
require_node_size "$(docker info --format '{{.NCPU}}')" "$(($(docker info --format '{{.MemTotal}}') / 1048576))" \
  "the Docker engine (kind's node)"

say "kind cluster jwt-ms"
if ! kind get clusters | grep -x jwt-ms >/dev/null; then
  # k8s/kind-config.yaml maps the ingress to 127.0.0.1:80 and :443.
  require_free_port 80
  require_free_port 443
  kind create cluster --config k8s/kind-config.yaml --wait 120s
fi
kubectl config use-context kind-jwt-ms

say "ingress-nginx ${INGRESS_NGINX_VERSION}"
kubectl apply -f "https://raw.githubusercontent.com/kubernetes/ingress-nginx/${INGRESS_NGINX_VERSION}/deploy/static/provider/kind/deploy.yaml"
wait_for_ingress_controller
install_metrics_server kind

build_images
for image in "${IMAGES[@]}"; do
  kind load docker-image "${image}" --name jwt-ms
done

deploy kind
demo "http://${INGRESS_HOST}"
check_console "http://${INGRESS_HOST}"
print_admin_hint
say "done: the API and the console at http://${INGRESS_HOST}/ (scripts/kind-down.sh removes the cluster)"
