#!/usr/bin/env bash
# The kind integration test, in one command: k8s/kind/run.sh
#
# Builds the image, creates a kind cluster (k8s/kind/cluster.yaml), loads the image, installs the
# Helm chart with its bundled RabbitMQ, runs the examples squares, range-squares and retries and
# checks their counts and results, then runs k8s/kind/fault-batch.yaml, deletes a worker pod
# mid-batch and checks that every task still gave exactly one result. The cluster is deleted at the
# end, pass or fail, unless --keep is given. On a failure it prints the batches, Jobs and pods, the
# operator's log and the failing batch's pod logs.
#
# Needs Docker (with a reachable daemon), kind, kubectl and helm; jq is used when present.
#
# Exit codes: 0 passed, 1 failed, 2 bad usage, 77 skipped because a tool is missing or the Docker
# daemon is not reachable (the automake/meson "skipped" code: a skip is never a pass).
#
# Before the prerequisite check the script runs no external command (only bash builtins), so the
# skip path works, and is tested, with an empty PATH (KindScriptTest).
set -euo pipefail

SKIP=77
name=taskbatch-it
keep=false
release=taskbatch
operator_ns=taskbatch-system
image=taskbatch:kind
examples=(squares range-squares retries)

usage() {
  cat <<'EOF'
Usage: k8s/kind/run.sh [--keep] [--name NAME]

The kind integration test: builds the image, creates a kind cluster, loads the image, helm installs
the operator with the bundled RabbitMQ, runs k8s/examples/{squares,range-squares,retries}.yaml and
checks their counts and results, deletes a worker pod in the middle of k8s/kind/fault-batch.yaml and
checks the counts are still exact, then deletes the cluster.

Options:
  --keep         keep the cluster afterwards (to look around; delete it with kind delete cluster --name NAME)
  --name NAME    name of the kind cluster (default: taskbatch-it); it must not exist yet
  -h, --help     show this help

Needs: docker (daemon running), kind, kubectl, helm; optional: jq.

Exit codes:
  0   passed
  1   failed (the batches, pods and logs are printed)
  2   bad usage
  77  skipped: docker, kind, kubectl or helm is missing, or the Docker daemon is not reachable
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=true ;;
    --name)
      [ $# -ge 2 ] || { echo "run.sh: --name needs a value" >&2; usage >&2; exit 2; }
      name="$2"
      shift
      ;;
    --name=*) name="${1#--name=}" ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[ -n "$name" ] || { echo "run.sh: --name must not be empty" >&2; exit 2; }

# --- prerequisites: a clear skip, never a fake pass --------------------------------------------
missing=()
for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
needs="the kind test needs Docker, kind, kubectl and helm. Install them, then run k8s/kind/run.sh"
if [ ${#missing[@]} -gt 0 ]; then
  list="$(printf '%s, ' "${missing[@]}")"
  echo "SKIP: ${list%, } not found; $needs" >&2
  exit "$SKIP"
fi
if ! docker info >/dev/null 2>&1; then
  echo "SKIP: docker daemon not reachable (docker info failed); $needs (with the Docker daemon running)" >&2
  exit "$SKIP"
fi
have_jq=false
command -v jq >/dev/null 2>&1 && have_jq=true

# The repository's root, from this script's path (k8s/kind/run.sh), whatever the caller's directory.
case "${BASH_SOURCE[0]}" in
  */*) cd "${BASH_SOURCE[0]%/*}/../.." ;;
  *) cd ../.. ;;
esac
root="$PWD"

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/taskbatch-kind.XXXXXX")"
# A private kubeconfig: the test never changes the caller's current kubectl context.
export KUBECONFIG="$work/kubeconfig"
created=false
current_batch=""

diagnose() {
  echo
  echo "==> diagnostics"
  kubectl get tb,jobs,pods -A -o wide || true
  echo "--- operator logs (every replica; the Lease names the leader)"
  kubectl -n "$operator_ns" get leases || true
  local pod
  for pod in $(kubectl -n "$operator_ns" get pods -l app.kubernetes.io/component=operator -o name 2>/dev/null); do
    echo "--- $pod"
    kubectl -n "$operator_ns" logs "$pod" --all-containers --tail=300 || true
  done
  if [ -n "$current_batch" ]; then
    echo "--- batch $current_batch"
    kubectl -n default get tb "$current_batch" -o yaml || true
    echo "--- pod logs of batch $current_batch"
    kubectl -n default logs -l "taskbatch.io/batch=$current_batch" --all-containers --prefix --tail=200 || true
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT
  if [ "$created" = true ]; then
    [ "$rc" -eq 0 ] || diagnose
    if [ "$keep" = true ]; then
      echo
      echo "kept the cluster $name: export KUBECONFIG=$KUBECONFIG (or kind export kubeconfig --name $name);"
      echo "delete it with: kind delete cluster --name $name"
    else
      step "deleting the cluster $name"
      kind delete cluster --name "$name" || true
    fi
  fi
  if [ "$keep" != true ] || [ "$created" != true ]; then rm -rf "$work"; fi
  if [ "$rc" -eq 0 ]; then echo "PASS: the kind integration test"; else echo "FAIL: the kind integration test (exit $rc)" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One status field of a batch ("" while unset, or when the API server did not answer: polls go on).
field() { kubectl -n default get tb "$1" -o "jsonpath={.status.$2}" 2>/dev/null || true; }

# Waits until a batch is finished (phase Succeeded or Failed), then requires its Complete condition.
# Polling for both phases fails a failed batch at once instead of after kubectl wait's timeout.
wait_complete() {
  local batch=$1 timeout=$2 phase
  current_batch=$batch
  local deadline=$((SECONDS + timeout))
  while :; do
    phase="$(field "$batch" phase)"
    case "$phase" in Succeeded | Failed) break ;; esac
    [ "$SECONDS" -lt "$deadline" ] || fail "$batch: not finished after ${timeout}s (phase ${phase:-none}, done $(field "$batch" "done"))"
    sleep 2
  done
  kubectl -n default wait --for=condition=Complete "tb/$batch" --timeout=30s >/dev/null \
    || fail "$batch: phase $phase, not Complete: $(field "$batch" message)"
}

# Requires exact counts: total, succeeded, failed, dead.
expect_counts() {
  local batch=$1 total=$2 succeeded=$3 failed=$4 dead=$5 got
  got="$(kubectl -n default get tb "$batch" -o 'jsonpath={.status.total}/{.status.succeeded}/{.status.failed}/{.status.dead}')"
  # "/" keeps an unset field in its place; an unset count is 0
  local t s f d
  IFS=/ read -r t s f d <<<"$got"
  if [ "${t:-}" != "$total" ] || [ "${s:-0}" != "$succeeded" ] || [ "${f:-0}" != "$failed" ] || [ "${d:-0}" != "$dead" ]; then
    fail "$batch: total/succeeded/failed/dead are $got, expected $total/$succeeded/$failed/$dead"
  fi
  echo "$batch: $total tasks, $succeeded succeeded, $failed failed, $dead dead"
}

# The batch's results ConfigMap, one JSON line per task.
results() { kubectl -n default get configmap "$1-results" -o 'jsonpath={.data.results\.jsonl}'; }

# The ids of the result lines, one a line.
result_ids() {
  if [ "$have_jq" = true ]; then
    jq -r '.id'
  else
    # each line starts with {"id":N, (the id is the first field of a result)
    sed -n 's/^{"id":\([0-9][0-9]*\),.*/\1/p'
  fi
}

# Requires the results ConfigMap to hold one line per task (or the first ones when the ConfigMap
# cap was reached, as .status.results says) and every id in it once, the first `kept` of 0..total-1.
expect_results() {
  local batch=$1 total=$2 where kept lines ids unique first last
  where="$(field "$batch" results)"
  if [[ $where =~ \(all\ ([0-9]+)\ results\) ]]; then
    kept=${BASH_REMATCH[1]}
    [ "$kept" = "$total" ] || fail "$batch: the results say $where, expected all $total"
  elif [[ $where =~ \(first\ ([0-9]+)\ of\ ([0-9]+)\ results ]]; then
    kept=${BASH_REMATCH[1]}
    [ "${BASH_REMATCH[2]}" = "$total" ] || fail "$batch: the results say $where, expected $total in all"
  else
    fail "$batch: unexpected .status.results: $where"
  fi
  results "$batch" >"$work/$batch.jsonl"
  lines=$(grep -c . "$work/$batch.jsonl" || true)
  [ "$lines" = "$kept" ] || fail "$batch: $lines result lines in ConfigMap $batch-results, expected $kept ($where)"
  result_ids <"$work/$batch.jsonl" | sort -n >"$work/$batch.ids"
  ids=$(grep -c . "$work/$batch.ids" || true)
  unique=$(sort -un "$work/$batch.ids" | grep -c . || true)
  if [ "$ids" != "$kept" ] || [ "$unique" != "$kept" ]; then
    fail "$batch: $kept result lines, but $ids ids of which $unique distinct"
  fi
  if [ "$total" = "$kept" ] && [ "$kept" -gt 0 ]; then
    # ids are 0..total-1: distinct, the right count, the right first and last ones make it exact
    first=$(head -n 1 "$work/$batch.ids")
    last=$(tail -n 1 "$work/$batch.ids")
    if [ "$first" != 0 ] || [ "$last" != $((total - 1)) ]; then
      fail "$batch: ids run from $first to $last, expected 0 to $((total - 1))"
    fi
  fi
  echo "$batch: $kept result lines, every id once ($where)"
}

# Requires a result line containing this text.
expect_result_line() {
  grep -qF -- "$2" "$work/$1.jsonl" || fail "$1: no result line contains $2"
}

# --- the run ----------------------------------------------------------------------------------
step "checking that no kind cluster named $name exists"
if kind get clusters 2>/dev/null | grep -qx -- "$name"; then
  # never delete a cluster this run did not create
  fail "a kind cluster named $name already exists: delete it (kind delete cluster --name $name) or pass --name"
fi

step "building the image $image"
# the Dockerfile is multi-stage: it builds the application from source itself
docker build -t "$image" "$root"

step "creating the kind cluster $name"
created=true
kind create cluster --name "$name" --config "$root/k8s/kind/cluster.yaml" --kubeconfig "$KUBECONFIG" --wait 120s

step "loading the image into the cluster"
kind load docker-image "$image" --name "$name"

step "installing the chart with the bundled RabbitMQ"
helm install "$release" "$root/helm/taskbatch" --namespace "$operator_ns" --create-namespace \
  --set image.repository=taskbatch --set image.tag=kind --set image.pullPolicy=Never \
  --set 'broker.copyToNamespaces={default}' --wait --timeout 10m
# the broker Secret is what a batch's pods connect with: wait for its copy in default
deadline=$((SECONDS + 120))
until kubectl -n default get secret taskbatch-broker >/dev/null 2>&1; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no Secret taskbatch-broker in namespace default after 120s"
  sleep 2
done

step "running the examples: ${examples[*]}"
for example in "${examples[@]}"; do
  kubectl -n default apply -f "$root/k8s/examples/$example.yaml"
done

step "checking squares"
wait_complete squares 300
expect_counts squares 5 5 0 0
expect_results squares 5
for line in '"output":"3411 * 3411 = 11634921"' '"output":"1605 * 1605 = 2576025"' '"output":"7 * 7 = 49"' \
  '"output":"12 * 12 = 144"' '"output":"1000000 * 1000000 = 1000000000000"'; do
  expect_result_line squares "$line"
done

step "checking retries"
# inputs 0, 1, 2 fail their first 0, 1, 2 attempts and then succeed; "always" fails its 3 attempts,
# which maxFailedTasks 1 allows: 3 succeeded, 1 failed, 1 + 2 + 2 = 5 retries, the batch succeeds
wait_complete retries 300
expect_counts retries 4 3 1 0
[ "$(field retries retried)" = 5 ] || fail "retries: $(field retries retried) retries, expected 5"
expect_results retries 4
expect_result_line retries '"input":"always","status":"failed"'
expect_result_line retries '"input":"2","status":"succeeded","output":"succeeded on attempt 3"'

step "checking range-squares (100000 tasks)"
wait_complete range-squares 900
expect_counts range-squares 100000 100000 0 0
expect_results range-squares 100000
expect_result_line range-squares '"output":"1 * 1 = 1"'

step "fault run: deleting a worker pod in the middle of k8s/kind/fault-batch.yaml"
kubectl -n default apply -f "$root/k8s/kind/fault-batch.yaml"
current_batch=fault
deadline=$((SECONDS + 300))
# wait until some tasks are done, so the worker that dies has done work and holds more
until [ "$(field fault succeeded)" -ge 100 ] 2>/dev/null; do
  phase="$(field fault phase)"
  case "$phase" in Succeeded | Failed) fail "fault: finished ($phase) before a worker could be deleted" ;; esac
  [ "$SECONDS" -lt "$deadline" ] || fail "fault: fewer than 100 tasks done after 300s (done $(field fault "done"))"
  sleep 1
done
victim="$(kubectl -n default get pods -l app.kubernetes.io/component=worker,taskbatch.io/batch=fault \
  --field-selector=status.phase=Running -o 'jsonpath={.items[0].metadata.name}')"
[ -n "$victim" ] || fail "fault: no running worker pod to delete"
# a 1 s grace period: the worker has no time to finish its tasks, they must be delivered again
done_at_delete="$(field fault "done")"
[ "$(field fault outcome)" = "" ] || fail "fault: the batch was decided before the worker could be deleted"
kubectl -n default delete pod "$victim" --grace-period=1
echo "deleted worker pod $victim with $done_at_delete tasks done"
wait_complete fault 600
expect_counts fault 800 800 0 0
expect_results fault 800
current_batch=""
