#!/usr/bin/env bash
# Deletes the minikube profile made by minikube-up.sh.
set -euo pipefail
command -v minikube >/dev/null 2>&1 || { echo "minikube is not installed: nothing to remove" >&2; exit 0; }
minikube delete -p jwt-ms
