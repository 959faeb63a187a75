#!/usr/bin/env bash
# The minikube twin of kind-up.sh: starts a minikube profile with the ingress addon (and Calico, so
# the NetworkPolicies are enforced), builds the images, loads them, deploys k8s/overlays/minikube,
# and runs the demo through the ingress at the minikube IP (Host: jwt.localtest.me).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/k8s-lib.sh
source scripts/k8s-lib.sh

require docker "https://docs.docker.com/engine/install/"
require minikube "https://minikube.sigs.k8s.io/docs/start/"
require kubectl "https://kubernetes.io/docs/tasks/tools/"
require npm "Node 20 with npm, then npm ci"
require openssl "apt-get install openssl"

say "minikube profile jwt-ms"
minikube status -p jwt-ms >/dev/null 2>&1 || minikube start -p jwt-ms --cni=calico --cpus=4 --memory=6g
minikube addons enable ingress -p jwt-ms
kubectl config use-context jwt-ms
kubectl -n ingress-nginx wait --for=condition=ready pod -l app.kubernetes.io/component=controller --timeout=180s

build_images
for service in "${SERVICES[@]}"; do
  minikube image load "jwt-ms/${service}:local" -p jwt-ms
done

deploy minikube
ip=$(minikube ip -p jwt-ms)
say "the ingress answers on ${ip}; add '${ip} ${INGRESS_HOST}' to /etc/hosts, or run 'minikube tunnel -p jwt-ms'"
if curl -fsS --max-time 5 "http://${INGRESS_HOST}/.well-known/jwks.json" >/dev/null 2>&1; then
  demo "http://${INGRESS_HOST}"
fi
