#!/usr/bin/env bash
# Install the local tool chain into git-ignored virtualenvs under .venv/, with pinned versions.
# Idempotent: a stamp file in each venv records what was installed; a matching stamp skips the
# install. Works non-interactively (CI=true, no stdin).
#
#   scripts/tools.sh            # all tools (moto + e2e deps, cargo-lambda)
#   scripts/tools.sh moto       # only the moto/e2e venv
#   scripts/tools.sh cargo-lambda
#   scripts/tools.sh peer       # the benchmark's Python peer (bench/peer/requirements.txt), not in "all"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${ROOT}/.venv"
PYTHON="${PYTHON:-python3}"

# ---- pinned versions -------------------------------------------------------------------------
MOTO_VERSION="5.2.5"
PYTEST_VERSION="9.2.0"
BOTO3_VERSION="1.44.5"
REQUESTS_VERSION="2.34.2"
CARGO_LAMBDA_VERSION="1.9.2"

MOTO_PKGS=(
  "moto[server]==${MOTO_VERSION}"
  "pytest==${PYTEST_VERSION}"
  "boto3==${BOTO3_VERSION}"
  "requests==${REQUESTS_VERSION}"
)
CARGO_LAMBDA_PKGS=("cargo-lambda==${CARGO_LAMBDA_VERSION}")
# The peer's pins live beside it; wheels only (awslambdaric has a manylinux wheel for CPython 3.11).
PEER_REQUIREMENTS="${ROOT}/bench/peer/requirements.txt"

log() { printf '[tools] %s\n' "$*" >&2; }

# ensure_venv NAME PKG...
ensure_venv() {
  local name="$1"; shift
  local dir="${VENV_DIR}/${name}"
  local stamp="${dir}/.installed"
  local want
  want="$(printf '%s\n' "$@")"
  if [[ -x "${dir}/bin/python" && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
    log "${name}: up to date ($(tr '\n' ' ' <<<"${want}"))"
    return 0
  fi
  log "${name}: installing $(tr '\n' ' ' <<<"${want}")"
  mkdir -p "${VENV_DIR}"
  if [[ ! -x "${dir}/bin/python" ]]; then
    "${PYTHON}" -m venv "${dir}"
  fi
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
  "${dir}/bin/python" -m pip install --quiet "$@"
  printf '%s\n' "${want}" >"${stamp}"
  log "${name}: done"
}

peer_pkgs() {
  printf '%s\n' "--only-binary=:all:"
  sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "${PEER_REQUIREMENTS}"
}

want_all=1
[[ $# -gt 0 ]] && want_all=0
wants() { [[ ${want_all} -eq 1 ]] && return 0; local t; for t in "${ARGS[@]}"; do [[ "$t" == "$1" ]] && return 0; done; return 1; }
ARGS=("$@")

for t in "${ARGS[@]}"; do
  case "$t" in moto|cargo-lambda|peer) ;; *) log "unknown tool: $t (expected: moto, cargo-lambda, peer)"; exit 2 ;; esac
done

wants moto && ensure_venv moto "${MOTO_PKGS[@]}"
wants cargo-lambda && ensure_venv cargo-lambda "${CARGO_LAMBDA_PKGS[@]}"
if [[ ${want_all} -eq 0 ]] && wants peer; then
  mapfile -t PEER_PKGS < <(peer_pkgs)
  ensure_venv peer "${PEER_PKGS[@]}"
fi
exit 0
