#!/usr/bin/env bash
# demo.sh: run examples/demo.yaml with bin/podbox, as an ordinary user, from
# a throw-away local registry holding the test images. Everything it makes
# (registry, image store, pod) lives in a temporary directory that is
# removed at the end. `make demo` runs it (as the test user when root).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
podbox=${PODBOX:-$repo/bin/podbox}
[[ $(id -u) -ne 0 ]] || { echo "demo.sh: run it as an ordinary user (rootless is the point)" >&2; exit 1; }
for f in "$podbox" "$repo/bin/testimages"; do
    [[ -x $f ]] || { echo "demo.sh: $f is missing: run 'make build' first" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/podbox-demo.XXXXXX")
# Its own runtime dir too: `system reset` at the end wipes podbox's runtime
# state, which must not touch the user's other pods.
mkdir -m 0700 "$tmp/run"
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
cleanup() {
    "$podbox" down --all >/dev/null 2>&1 || true
    "$podbox" system reset --force >/dev/null 2>&1 || true
    "$repo/scripts/registry.sh" stop "$tmp/registry" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "== starting a local registry with the test images"
registry=$("$repo/scripts/registry.sh" start "$tmp/registry")
"$repo/bin/testimages" -registry "$registry" -out "$tmp/images" >/dev/null
sed "s|@REGISTRY@|$registry|g" "$repo/examples/demo.yaml" >"$tmp/demo.yaml"

echo "== podbox up -f examples/demo.yaml"
"$podbox" up -f "$tmp/demo.yaml"
echo "== the pod succeeded: it stays listed, for podbox logs and describe, until podbox down; podbox ps:"
"$podbox" ps
echo "== podbox down demo; podbox ps:"
"$podbox" down demo
"$podbox" ps
