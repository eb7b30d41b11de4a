#!/usr/bin/env bash
# Fuzz every parser of untrusted input for a bounded time, one target at a time.
#
#   .ci/fuzz.sh [SECONDS]     default 10 s per target
#
# The seed corpora (f.Add and testdata/fuzz/<FuzzName>/) also run in every plain `go test`.
# Fuzzing builds all dependencies with coverage instrumentation, so the first run compiles
# msgraph-sdk-go once more (minutes on a cold cache); later runs reuse the build cache.
# A failure leaves the crashing input in the package's testdata/fuzz/<FuzzName>/ and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

T="${1:-10}"
case "$T" in
'' | *[!0-9]* | 0) echo "usage: $0 [SECONDS > 0]" >&2; exit 2 ;;
esac

targets=(
  "FuzzParseCredentialsJSON ./pkg/invicti"
  "FuzzParseBaseURL ./pkg/invicti"
  "FuzzResolveEndpoints ./pkg/invicti"
  "FuzzParseErrorBody ./internal/graph"
  "FuzzParseVerdict ./internal/provision"
  "FuzzParsePrincipalFile ./cmd"
)

failed=()
start=$SECONDS
for t in "${targets[@]}"; do
  read -r name pkg <<<"$t"
  echo "== $name ($pkg, ${T}s)"
  if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="${T}s" "$pkg" </dev/null; then
    failed+=("$name")
  fi
done
echo "== fuzzing took $((SECONDS - start))s"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
