#!/usr/bin/env bash
# Offline checks of the deployable SAM application (template.yaml, samconfig.toml).
#
#   scripts/sam_checks.sh              # tools, lint, build, test (always in that order)
#   scripts/sam_checks.sh lint test    # only some steps
#
# Steps:
#   tools  install the pinned tools into git-ignored venvs (idempotent, stamp file per venv):
#          .venv/sam (aws-sam-cli), .venv/lint (cfn-lint, pytest, pyyaml), .venv/checkov
#          (checkov pins old packaging/networkx, so it lives alone), .venv/cargo-lambda (build only)
#   lint   sam validate --lint, cfn-lint, checkov (no failed check; skips are in the template),
#          then checkov again on the template with its Fn::ForEach loops expanded by SAM CLI for
#          two endpoints on every provider (tests/template/sam_expand.py), and every resource the
#          loops made among those it checked: checkov does not look into the loops of the
#          template as written, so that second run is what checks the endpoint secrets and
#          grants. (SAM CLI expands the loops itself only with language_extensions = true, which
#          samconfig.toml sets and `sam build` below reads.)
#   build  sam build --parameter-overrides Architecture=x86_64, then checks that every function
#          has an x86-64 .aws-sam/build/<Function>/bootstrap (every rust-cargolambda function
#          of the template, as tests/template/cfn_yaml.py lists them: the four receivers and
#          the drain). (arm64 is not built here: the machine has no aarch64 target.)
#   test   pytest tests/template (table == local stack; each role's IAM actions == the AWS
#          operations linked into its built binary and called in its source, plus what Lambda
#          calls with the role: the SQS poller's three for the drain, X-Ray's two only while
#          Tracing is Active; template shape; body caps; env.json
#          covers every function's variables for `sam local`, as SAM CLI resolves them; every
#          alarm and dashboard metric is one `webhooks metrics --json` lists, with its dimensions,
#          and docs/dashboard.svg is the dashboard's current picture). The CLI is WEBHOOKS_CLI, else
#          target/debug/webhooks (built when missing).
#          Without `build` in the same run, the binary checks skip when no fresh build exists.
#
# Nothing talks to AWS: dummy credentials, no profile, and AWS_ENDPOINT_URL points at a closed
# loopback port so that any call that slipped through fails on this machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
VENV_DIR="${ROOT}/.venv"
PYTHON="${PYTHON:-python3}"

# ---- pinned versions -------------------------------------------------------------------------
SAM_CLI_VERSION="1.170.0"
CFN_LINT_VERSION="1.58.0"
CHECKOV_VERSION="3.3.30"
PYTEST_VERSION="9.2.0"
PYYAML_VERSION="6.0.3"
CARGO_LAMBDA_VERSION="1.9.2"   # same pin as scripts/tools.sh, which installs it when present

log() { printf '[sam-checks] %s\n' "$*" >&2; }

# ensure_venv NAME PKG...  (same stamp format as scripts/tools.sh)
ensure_venv() {
  local name="$1"; shift
  local dir="${VENV_DIR}/${name}"
  local stamp="${dir}/.installed"
  local want
  want="$(printf '%s\n' "$@")"
  if [[ -x "${dir}/bin/python" && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
    return 0
  fi
  log "${name}: installing $(tr '\n' ' ' <<<"${want}")"
  mkdir -p "${VENV_DIR}"
  [[ -x "${dir}/bin/python" ]] || "${PYTHON}" -m venv "${dir}"
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 "${dir}/bin/python" -m pip install --quiet "$@"
  printf '%s\n' "${want}" >"${stamp}"
}

offline_aws_env() {
  unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN \
        AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
  export AWS_EC2_METADATA_DISABLED=true
  export AWS_ENDPOINT_URL=http://127.0.0.1:9
  export SAM_CLI_TELEMETRY=0
}

step_tools() {
  ensure_venv sam "aws-sam-cli==${SAM_CLI_VERSION}"
  ensure_venv lint "cfn-lint==${CFN_LINT_VERSION}" "pytest==${PYTEST_VERSION}" "pyyaml==${PYYAML_VERSION}"
  ensure_venv checkov "checkov==${CHECKOV_VERSION}"
}

ensure_cargo_lambda() {
  if [[ -x "${ROOT}/scripts/tools.sh" ]]; then
    "${ROOT}/scripts/tools.sh" cargo-lambda
  else
    ensure_venv cargo-lambda "cargo-lambda==${CARGO_LAMBDA_VERSION}"
  fi
}

# run_checkov FILE [LOGICAL_ID...]: no failed check, no parsing error, and every LOGICAL_ID among
# the scanned resources.
run_checkov() {
  local file="$1"; shift
  local report
  report="$(mktemp)"
  # checkov exits 1 on failed checks; the summary below decides, and also fails on a template
  # that checkov could not parse (which would otherwise "pass" with nothing scanned).
  "${VENV_DIR}/checkov/bin/checkov" -f "${file}" --framework cloudformation --skip-download \
      --compact -o json >"${report}" || true
  "${VENV_DIR}/checkov/bin/python" - "${report}" "$@" <<'EOF'
import json, sys
with open(sys.argv[1], encoding="utf-8") as handle:
    text = handle.read()
required = set(sys.argv[2:])
try:
    data = json.loads(text)
except json.JSONDecodeError:
    sys.exit(f"checkov did not produce a report:\n{text[-2000:]}")
data = data[0] if isinstance(data, list) else data
summary, results = data["summary"], data["results"]
for check in results.get("failed_checks", []):
    print(f"FAILED  {check['check_id']} {check['resource']}: {check['check_name']}")
skipped = {}
for check in results.get("skipped_checks", []):
    skipped.setdefault(check["check_id"], []).append(check["resource"].split(".")[-1])
for check_id, resources in sorted(skipped.items()):
    print(f"skipped {check_id} ({len(resources)}): {', '.join(resources)}")
scanned = {check["resource"].split(".")[-1] for kind in ("passed_checks", "failed_checks", "skipped_checks")
           for check in results.get(kind, [])}
print(f"checkov: {summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped, "
      f"{summary['resource_count']} resources, {summary['parsing_errors']} parsing errors")
if required - scanned:
    sys.exit(f"checkov did not check {sorted(required - scanned)}")
if summary["failed"] or summary["parsing_errors"] or not summary["resource_count"]:
    sys.exit(1)
EOF
  rm -f "${report}"
}

step_lint() {
  offline_aws_env
  log "sam validate --lint"
  "${VENV_DIR}/sam/bin/sam" validate --lint --region us-east-1 --template-file template.yaml
  log "cfn-lint template.yaml"
  "${VENV_DIR}/lint/bin/cfn-lint" template.yaml
  log "checkov -f template.yaml"
  run_checkov template.yaml
  log "checkov on template.yaml expanded with two endpoints per provider (tests/template/sam_expand.py)"
  local expanded loop_ids
  expanded="$(mktemp --suffix=.json)"
  loop_ids="$(mktemp)"
  "${VENV_DIR}/sam/bin/python" tests/template/sam_expand.py --samconfig --endpoints sandbox,eu-1 \
      --loop-ids "${loop_ids}" >"${expanded}"
  [[ -s "${loop_ids}" ]] || { log "the loops made nothing"; return 1; }
  # shellcheck disable=SC2046  # one logical id a line
  run_checkov "${expanded}" $(cat "${loop_ids}")
  rm -f "${expanded}" "${loop_ids}"
}

step_test() {
  offline_aws_env
  log "pytest tests/template"
  "${VENV_DIR}/lint/bin/python" -m pytest tests/template -q -rs -p no:cacheprovider
}

step_build() {
  offline_aws_env
  ensure_cargo_lambda
  export PATH="${VENV_DIR}/cargo-lambda/bin:${PATH}"
  log "sam build --parameter-overrides Architecture=x86_64 ($(cargo lambda --version))"
  rm -rf .aws-sam/build
  # With Architecture=x86_64 SAM runs `cargo lambda build --release --bin <Binary>` with no
  # target flag (it adds --arm64 only for arm64), and cargo lambda's default target is
  # x86_64-unknown-linux-gnu; the ELF check below makes sure that is what came out.
  "${VENV_DIR}/sam/bin/sam" build --template-file template.yaml --no-cached --build-in-source \
      --parameter-overrides Architecture=x86_64
  local functions fn bootstrap failed=0
  functions="$("${VENV_DIR}/lint/bin/python" tests/template/cfn_yaml.py)"
  for fn in ${functions}; do
    bootstrap=".aws-sam/build/${fn}/bootstrap"
    if "${VENV_DIR}/lint/bin/python" - "${bootstrap}" <<'EOF'
import sys
path = sys.argv[1]
try:
    with open(path, "rb") as handle:
        header = handle.read(20)
except OSError as error:
    sys.exit(f"{path}: {error.strerror}")
if header[:4] != b"\x7fELF":
    sys.exit(f"{path}: not an ELF executable")
machine = int.from_bytes(header[18:20], "little")
if machine != 62:  # EM_X86_64
    sys.exit(f"{path}: ELF machine {machine}, expected 62 (x86-64)")
print(f"{path}: ELF x86-64")
EOF
    then :; else failed=1; fi
  done
  [[ -n "${functions}" && ${failed} -eq 0 ]] || { log "sam build did not produce every bootstrap"; return 1; }
}

requested=("$@")
[[ ${#requested[@]} -gt 0 ]] || requested=(tools lint build test)
for step in "${requested[@]}"; do
  case "${step}" in
    tools|lint|build|test) ;;
    *) log "unknown step: ${step} (expected: tools, lint, build, test)"; exit 2 ;;
  esac
done
# Always in this order: the IAM test reads the binaries that `build` produces.
steps=()
for step in tools lint build test; do
  if [[ " ${requested[*]} " == *" ${step} "* ]]; then steps+=("${step}"); fi
done
if [[ " ${steps[*]} " == *" build "* ]]; then
  # The binaries were just built: the IAM test must check them, never skip them.
  export SAM_CHECKS_REQUIRE_BUILD=1
fi
for step in "${steps[@]}"; do
  # Every step but `tools` needs the venvs; installing is a no-op when the stamps match.
  [[ "${step}" == tools ]] || step_tools
  "step_${step}"
done
log "ok: ${steps[*]}"
