#!/usr/bin/env bash
# Fuzz every parser of untrusted input for a bounded number of executions, one target at a time.
#
#   .ci/fuzz.sh [EXECS]     default 20000 executions per target (about 4 s each on 2 cores)
#
# The budget is a count (-fuzztime=Nx), not a duration: with a duration, Go 1.26's fuzz
# coordinator can report its own deadline as a failure ("--- FAIL: ... context deadline
# exceeded", no failing input written) when a starved worker is mid-call as the time runs out
# (golang/go#75804, fixed in Go 1.27 by CL 774140). That failed CI once on FuzzParseVerdict.
# A count has no deadline to race; a slow machine only takes longer, and -timeout still bounds
# a target that hangs.
#
# The seed corpora (f.Add and testdata/fuzz/<FuzzName>/) also run in every plain `go test`.
# Fuzzing builds all dependencies with coverage instrumentation, so the first run compiles
# msgraph-sdk-go once more (minutes on a cold cache); later runs reuse the build cache.
# A failure leaves the crashing input in the package's testdata/fuzz/<FuzzName>/ and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

N="${1:-20000}"
case "$N" in
'' | *[!0-9]* | 0) echo "usage: $0 [EXECS > 0]" >&2; exit 2 ;;
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
  echo "== $name ($pkg, ${N} executions)"
  if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="${N}x" -timeout=5m "$pkg" </dev/null; then
    failed+=("$name")
  fi
done
echo "== fuzzing took $((SECONDS - start))s"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
