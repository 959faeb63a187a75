#!/usr/bin/env bash
# Rotates the signing keys of a kind or minikube deployment, where the auth replicas read their
# key set from the Secret jwt-ms-signing-keys (mounted read-only, so POST /auth/admin/keys/rotate
# answers 409 there). Reads the Secret, adds a key with `npm run keys:rotate` (published at once,
# signing after the lead; the old key retires when its tokens have expired), and writes it back.
# The kubelet updates every replica's mount within about a minute, and each replica re-reads the
# file when it changes: the lead must be longer than that, so that every verifier has the new key
# before its first token.
#
#   scripts/k8s-rotate-keys.sh [--lead SECONDS] [--alg ES256|RS256|EdDSA]   (lead: 900)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/k8s-lib.sh
source scripts/k8s-lib.sh

require kubectl "https://kubernetes.io/docs/tasks/tools/"
require npm "Node 20 with npm, then npm ci"
require base64 "coreutils"

lead=900
alg=ES256
while (($#)); do
  case "$1" in
    --lead) lead=${2:?--lead needs a number of seconds}; shift 2 ;;
    --alg) alg=${2:?--alg needs ES256, RS256 or EdDSA}; shift 2 ;;
    *) fail "unknown option $1 (use --lead SECONDS, --alg ALG)" ;;
  esac
done
[[ "$lead" =~ ^[0-9]+$ ]] || fail "--lead must be a whole number of seconds"
if ((lead < 90)); then
  printf 'warning: a lead of %s s is shorter than the kubelet may take to update every mount (about 60 s)\n' "$lead" >&2
fi

# A subshell, so that its EXIT trap removes the private folder however it ends.
(
  private=$(mktemp -d) # 0700: the private keys never sit on a command line or in a log
  trap 'rm -rf "$private"' EXIT
  kubectl -n "$NAMESPACE" get secret jwt-ms-signing-keys -o 'jsonpath={.data.signing-jwks\.json}' |
    base64 -d >"$private/signing-jwks.json"
  [[ -s "$private/signing-jwks.json" ]] || fail "the Secret jwt-ms-signing-keys has no signing-jwks.json (run the up script first)"
  npm run -s keys:rotate -- --file "$private/signing-jwks.json" --lead "$lead" --alg "$alg"
  kubectl -n "$NAMESPACE" create secret generic jwt-ms-signing-keys \
    --from-file=signing-jwks.json="$private/signing-jwks.json" --dry-run=client -o yaml |
    kubectl -n "$NAMESPACE" apply -f -
)
say "rotated: every auth replica re-reads the key set once the kubelet has updated its mount"
