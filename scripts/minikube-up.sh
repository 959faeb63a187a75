#!/usr/bin/env bash
# The minikube twin of kind-up.sh: starts a minikube profile with the ingress and metrics-server
# addons (and Calico, so the NetworkPolicies are enforced), builds the images, loads them, deploys
# k8s/overlays/minikube, and runs the demo through the ingress (via a port-forward to its controller).
# MINIKUBE_CPUS (2), MINIKUBE_MEMORY (6g) and MINIKUBE_DEMO_PORT (18080) can be changed.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/k8s-lib.sh
source scripts/k8s-lib.sh

require docker "https://docs.docker.com/engine/install/"
require minikube "https://minikube.sigs.k8s.io/docs/start/"
require kubectl "https://kubernetes.io/docs/tasks/tools/"
require npm "Node 20 with npm, then npm ci"
require openssl "apt-get install openssl"
require curl "apt-get install curl"

MINIKUBE_CPUS=${MINIKUBE_CPUS:-2}
MINIKUBE_MEMORY=${MINIKUBE_MEMORY:-6g}
DEMO_PORT=${MINIKUBE_DEMO_PORT:-18080}

# minikube's memory: 6g, 6144m, 6144mb or 6144 (MiB).
memory_mib() {
  local value=${1,,}
  case "$value" in
    *gb) echo $((${value%gb} * 1024)) ;;
    *g) echo $((${value%g} * 1024)) ;;
    *mb) echo "${value%mb}" ;;
    *m) echo "${value%m}" ;;
    *) echo "$value" ;;
  esac
}
[[ "$MINIKUBE_CPUS" =~ ^[0-9]+$ ]] || fail "MINIKUBE_CPUS must be a whole number"
[[ "$(memory_mib "$MINIKUBE_MEMORY")" =~ ^[0-9]+$ ]] || fail "MINIKUBE_MEMORY must look like 6g or 6144m"
require_node_size "$MINIKUBE_CPUS" "$(memory_mib "$MINIKUBE_MEMORY")" "the minikube VM (MINIKUBE_CPUS, MINIKUBE_MEMORY)"
require_ingress_name

say "minikube profile jwt-ms"
minikube status -p jwt-ms >/dev/null 2>&1 ||
  minikube start -p jwt-ms --cni=calico --cpus="$MINIKUBE_CPUS" --memory="$MINIKUBE_MEMORY"
minikube addons enable ingress -p jwt-ms
kubectl config use-context jwt-ms
wait_for_ingress_controller
install_metrics_server minikube

build_images
for image in "${IMAGES[@]}"; do
  minikube image load "${image}" -p jwt-ms
done

deploy minikube

# The ingress listens on the minikube VM's address, which jwt.localtest.me (127.0.0.1) is not, on
# every driver and OS alike: the demo goes through a port-forward to the ingress controller instead.
say "port-forward 127.0.0.1:${DEMO_PORT} -> ingress-nginx"
kubectl -n ingress-nginx port-forward svc/ingress-nginx-controller "${DEMO_PORT}:80" >/dev/null &
forward=$!
trap 'kill "$forward" 2>/dev/null || true' EXIT
for _ in $(seq 1 30); do
  curl -fsS --max-time 2 "http://${INGRESS_HOST}:${DEMO_PORT}/.well-known/jwks.json" >/dev/null 2>&1 && break
  sleep 1
done
demo "http://${INGRESS_HOST}:${DEMO_PORT}"
check_console "http://${INGRESS_HOST}:${DEMO_PORT}"
print_admin_hint
ip=$(minikube ip -p jwt-ms)
# The console logs in at the issuer, http://${INGRESS_HOST} (port 80): through the ingress itself, not the port-forward.
say "done. The ingress itself answers on ${ip}: add '${ip} ${INGRESS_HOST}' to /etc/hosts to use http://${INGRESS_HOST} (the API, and the console at /)"
