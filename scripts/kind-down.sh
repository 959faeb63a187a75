#!/usr/bin/env bash
# Deletes the kind cluster made by kind-up.sh (and everything in it: data, Secrets).
set -euo pipefail
command -v kind >/dev/null 2>&1 || { echo "kind is not installed: nothing to remove" >&2; exit 0; }
if kind get clusters | grep -x jwt-ms >/dev/null; then
  kind delete cluster --name jwt-ms
else
  echo "no kind cluster named jwt-ms"
fi
