#!/usr/bin/env bash
# `make dev`: the whole local stack in one command.
#
#   1. installs the pinned tools into .venv/ (scripts/tools.sh)
#   2. builds the functions and the `webhooks` CLI (the registry: `webhooks providers`)
#   3. starts moto (DynamoDB + Secrets Manager + S3 + SQS) on 127.0.0.1:4566
#   4. creates the table, the payload bucket, the fallback queue and its dead-letter queue, and the
#      development secrets (scripts/local_aws.py; it prints them); the queue's URL reaches the
#      functions as FALLBACK_QUEUE_URL
#   5. runs `cargo lambda watch` on 127.0.0.1:9000, so each function answers at
#      http://127.0.0.1:9000/lambda-url/<binary-name>/
#   6. runs scripts/drain_pump.py in the background: what Lambda's SQS event source mapping does in
#      AWS, it feeds the queue's messages to the drain function (webhook-drain) under that watch
#
# Ctrl-C (or any exit) stops what this script started, by process id.
# Ports can be moved with MOTO_PORT / WATCH_PORT; everything stays on 127.0.0.1, unless
# DEV_BIND=0.0.0.0 lets moto listen on every interface: what `sam local` needs, whose function
# containers reach moto through the host (env.json: http://host.docker.internal:4566, the docker
# bridge on Linux). moto has no authentication, so anything that can reach the machine can then
# read and write the local stack: use it on a trusted network only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

MOTO_PORT="${MOTO_PORT:-4566}"
DEV_BIND="${DEV_BIND:-127.0.0.1}"
WATCH_PORT="${WATCH_PORT:-9000}"
RUN_DIR="${ROOT}/.local/dev"
MOTO_PY="${ROOT}/.venv/moto/bin/python"
MOTO_SERVER="${ROOT}/.venv/moto/bin/moto_server"
CARGO_LAMBDA="${ROOT}/.venv/cargo-lambda/bin/cargo-lambda"

log() { printf '[dev] %s\n' "$*" >&2; }

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Process ids of every descendant of $1 (cargo lambda watch runs each function in a process group
# of its own, so a group kill alone would miss them).
descendants() {
  local kid
  for kid in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "${kid}"
    descendants "${kid}"
  done
}

PIDS=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM HUP
  local pid all=()
  for pid in "${PIDS[@]}"; do
    all+=("${pid}" $(descendants "${pid}"))
  done
  for pid in "${PIDS[@]}"; do
    # Each child leads its own process group (setsid): stop the group.
    kill -TERM -- "-${pid}" 2>/dev/null || true
  done
  for pid in "${all[@]}"; do kill -TERM "${pid}" 2>/dev/null || true; done
  for pid in "${all[@]}"; do
    for _ in $(seq 1 50); do
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${pid}" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do wait "${pid}" 2>/dev/null || true; done
  if [[ ${#PIDS[@]} -gt 0 ]]; then log "stopped (pids ${all[*]})"; fi
  exit "${status}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

"${ROOT}/scripts/tools.sh"
mkdir -p "${RUN_DIR}"

for port in "${MOTO_PORT}" "${WATCH_PORT}"; do
  if port_in_use "${port}"; then
    log "port ${port} on 127.0.0.1 is already in use (another \`make dev\`?); stop it or set MOTO_PORT/WATCH_PORT"
    exit 1
  fi
done

# ---- configuration: the same values reach local_aws.py, cargo lambda watch and the functions --
export AWS_ENDPOINT_URL="http://127.0.0.1:${MOTO_PORT}"
export AWS_REGION="us-east-1" AWS_DEFAULT_REGION="us-east-1"
export AWS_ACCESS_KEY_ID="test" AWS_SECRET_ACCESS_KEY="test"
export AWS_EC2_METADATA_DISABLED="true"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
export EVENTS_TABLE="${EVENTS_TABLE:-webhook-events}"
export PAYLOAD_BUCKET="${PAYLOAD_BUCKET:-webhook-payloads}"
export RUST_LOG="${RUST_LOG:-info}"
FALLBACK_QUEUE="${FALLBACK_QUEUE:-webhook-fallback}"

if [[ "${DEV_SKIP_BUILD:-0}" != 1 ]]; then
  log "building the functions and the CLI (first time: several minutes)"
  cargo build --bins
fi

# The providers, their binaries and their local settings come from the registry.
mapfile -t BINARIES < <(python3 scripts/registry.py binaries)
mapfile -t SETTING_NAMES < <(python3 scripts/registry.py settings)
mapfile -t DEV_SETTINGS < <(python3 scripts/registry.py dev-env)
# Every function also serves a second endpoint, /webhooks/<provider>/staging, with its own secret
# (webhooks/<provider>/staging) and, for FACEIO and Amani, its own settings (README, "Several
# endpoints per provider"). DEV_ENDPOINTS= make dev serves the default endpoint only.
DEV_ENDPOINT_SETTINGS=()
if [[ -z "${DEV_ENDPOINTS+set}" || -n "${DEV_ENDPOINTS}" ]]; then
  mapfile -t DEV_ENDPOINT_SETTINGS < <(python3 scripts/registry.py dev-endpoint-env)
fi
ENDPOINT_NAMES=()
ENDPOINT_SECRETS=()
for setting in "${DEV_ENDPOINT_SETTINGS[@]}"; do
  ENDPOINT_NAMES+=("${setting%%=*}")
  DEV_SETTINGS+=("${setting}")
  ENDPOINT_SECRETS=(--endpoint-secrets)
done
for setting in "${DEV_SETTINGS[@]}"; do
  name="${setting%%=*}"
  # A value already in the environment wins (e.g. FACEIO_APP_ID=my-app make dev).
  if [[ -z "${!name:-}" ]]; then export "${name}=${setting#*=}"; fi
done

case "${DEV_BIND}" in
  127.0.0.1) ;;
  # Every interface still includes loopback, where this script and the functions reach moto.
  0.0.0.0) log "DEV_BIND=0.0.0.0: moto (no authentication) listens on every interface, for containers (sam local)" ;;
  *) log "DEV_BIND must be 127.0.0.1 (default) or 0.0.0.0, not ${DEV_BIND}"; exit 2 ;;
esac
log "starting moto on ${DEV_BIND}:${MOTO_PORT} (log: ${RUN_DIR}/moto.log)"
setsid "${MOTO_SERVER}" -H "${DEV_BIND}" -p "${MOTO_PORT}" >"${RUN_DIR}/moto.log" 2>&1 </dev/null &
PIDS+=("$!")

"${MOTO_PY}" "${ROOT}/scripts/local_aws.py" --endpoint "${AWS_ENDPOINT_URL}" --table "${EVENTS_TABLE}" \
  --bucket "${PAYLOAD_BUCKET}" --queue "${FALLBACK_QUEUE}" "${ENDPOINT_SECRETS[@]}"
FALLBACK_QUEUE_URL="$("${MOTO_PY}" "${ROOT}/scripts/local_aws.py" --endpoint "${AWS_ENDPOINT_URL}" \
  --queue "${FALLBACK_QUEUE}" --print-queue-url)"
export FALLBACK_QUEUE_URL

# The functions get their environment from `cargo lambda watch`, which passes its own environment
# through; the env file below makes the function config explicit (and wins over inherited values).
ENV_FILE="${RUN_DIR}/functions.env"
{
  for var in AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED \
             EVENTS_TABLE PAYLOAD_BUCKET PAYLOAD_OFFLOAD_BYTES RUST_LOG FALLBACK_QUEUE_URL \
             QUARANTINE QUARANTINE_PER_MINUTE QUARANTINE_BYTES_PER_MINUTE \
             WEBHOOK_SECRET_ID SECRET_CACHE_TTL_SECS PREVIOUS_SECRET_GRACE_SECS STORE_DEADLINE_MS RETENTION_DAYS \
             TIMESTAMP_TOLERANCE_SECS MAX_BODY_BYTES "${SETTING_NAMES[@]}" "${ENDPOINT_NAMES[@]}"; do
    if [[ -n "${!var:-}" ]]; then printf '%s=%s\n' "${var}" "${!var}"; fi
  done
} >"${ENV_FILE}"

log "starting cargo lambda watch on 127.0.0.1:${WATCH_PORT}"
setsid "${CARGO_LAMBDA}" lambda watch \
  --invoke-address 127.0.0.1 --invoke-port "${WATCH_PORT}" \
  --env-file "${ENV_FILE}" </dev/null &
PIDS+=("$!")

log "starting the drain pump (${FALLBACK_QUEUE} -> webhook-drain; log: ${RUN_DIR}/drain-pump.log)"
setsid "${MOTO_PY}" "${ROOT}/scripts/drain_pump.py" --endpoint "${AWS_ENDPOINT_URL}" \
  --queue-url "${FALLBACK_QUEUE_URL}" --port "${WATCH_PORT}" >"${RUN_DIR}/drain-pump.log" 2>&1 </dev/null &
PIDS+=("$!")

cat >&2 <<EOF

[dev] functions (POST):
$(for bin in "${BINARIES[@]}"; do printf '        http://127.0.0.1:%s/lambda-url/%s/\n' "${WATCH_PORT}" "${bin}"; done)
[dev] every endpoint, its URL and secret (webhooks endpoints; webhooks send <provider> --endpoint staging):
$("${CARGO_TARGET_DIR:-${ROOT}/target}/debug/webhooks" endpoints 2>/dev/null | sed 's/^/        /')
[dev] local AWS endpoint: ${AWS_ENDPOINT_URL} (table ${EVENTS_TABLE}, bucket ${PAYLOAD_BUCKET}; dummy credentials test/test, us-east-1)
[dev] fallback queue: ${FALLBACK_QUEUE_URL} (dead-letter queue ${FALLBACK_QUEUE}-dlq), drained into webhook-drain
      by scripts/drain_pump.py (log: ${RUN_DIR}/drain-pump.log)
[dev] function environment: ${ENV_FILE}
$(if [[ "${DEV_BIND}" != 127.0.0.1 ]]; then
    printf '[dev] moto also listens on %s:%s: sam local --env-vars env.json reaches it (README, "sam local")\n' \
      "${DEV_BIND}" "${MOTO_PORT}"
  fi)
[dev] Ctrl-C stops everything.

EOF

# Wait for either child; if one dies, stop the other too.
wait -n "${PIDS[@]}" || true
log "a process exited; shutting down"
exit 1
