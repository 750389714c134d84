#!/usr/bin/env bash
# The cdnpurge GitHub Action's step: purges INPUT_PATHS with
# `cdnpurge invalidate --json`, then writes the invalidation's ID and status
# to $GITHUB_OUTPUT and a summary to $GITHUB_STEP_SUMMARY.
#
# Every input arrives as an environment variable (action.yml passes them
# with env:, never inside this script's text), so nothing a workflow passes
# is ever run as shell code:
#
#   INPUT_PATHS             paths, URLs or #tags; one a line, or on a single
#                           line separated by spaces (required)
#   INPUT_DISTRIBUTION      a CloudFront distribution ID, or
#   INPUT_TARGET            a target of the targets file (exactly one of the two)
#   INPUT_TARGETS_FILE      the targets file, for INPUT_TARGET (CDNPURGE_CONFIG)
#   INPUT_WAIT              true or false: wait until the invalidation completed
#   INPUT_TIMEOUT           how long to wait: e.g. 90s, 15m, 1h30m (at most 6h)
#   INPUT_CALLER_REFERENCE  CloudFront's idempotency token; empty: derived from
#                           the run, the attempt, the job and what is purged
#   CDNPURGE_BIN            the cdnpurge binary to run
#
# Exit codes: cdnpurge's own (see `cdnpurge invalidate -h`), and 2 for an
# input refused here, before anything is sent.
set -euo pipefail

# annotate prints a workflow command (error or warning) with its message
# escaped as the runner expects, so a message cannot end the command early
# or start another.
annotate() {
  local kind=$1 msg=$2
  msg=${msg//'%'/'%25'}
  msg=${msg//$'\r'/'%0D'}
  msg=${msg//$'\n'/'%0A'}
  printf '::%s title=cdnpurge::%s\n' "$kind" "$msg"
}

# refuse reports an input mistake and stops before any request.
refuse() {
  annotate error "$1"
  exit 2
}

# output appends name=value to $GITHUB_OUTPUT. The values are IDs, statuses
# and a reference refused with a control character in it; a line break is
# dropped all the same, since it would start another output.
output() {
  if [[ -n ${GITHUB_OUTPUT:-} ]]; then
    printf '%s=%s\n' "$1" "${2//[$'\r\n']/}" >>"$GITHUB_OUTPUT"
  fi
}

# summary appends its arguments, one a line, to $GITHUB_STEP_SUMMARY.
summary() {
  if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
    printf '%s\n' "$@" >>"$GITHUB_STEP_SUMMARY"
  fi
}

# cell makes s safe in a Markdown table cell shown as code.
cell() {
  local s=${1//'|'/'\|'} tick='`'
  printf '%s%s%s' "$tick" "${s//"$tick"/}" "$tick"
}

# sha256 prints the SHA-256 of its standard input in hex (Linux and macOS).
sha256() {
  if command -v sha256sum >/dev/null; then
    sha256sum | cut -d' ' -f1
  else
    shasum -a 256 | cut -d' ' -f1
  fi
}

# trim sets REPLY to its argument without the spaces, tabs and newlines
# around it. read does it in linear time, in this shell (no subshell: it
# runs once an item); ${s%%[![:space:]]*} is quadratic or worse in bash.
trim() {
  IFS=$' \t\n' read -r -d '' REPLY <<<"$1" || true
}

bin=${CDNPURGE_BIN:-}
if [[ -z $bin || ! -x $bin ]]; then
  refuse "CDNPURGE_BIN does not name the cdnpurge binary (the action's build step sets it)"
fi
if ! command -v jq >/dev/null; then
  refuse "jq is needed to read cdnpurge's answer (GitHub-hosted runners have it; install it on a self-hosted one)"
fi

trim "${INPUT_DISTRIBUTION:-}" && distribution=$REPLY
trim "${INPUT_TARGET:-}" && target=$REPLY
trim "${INPUT_TARGETS_FILE:-}" && targets_file=$REPLY
trim "${INPUT_WAIT:-true}" && wait=$REPLY
trim "${INPUT_TIMEOUT:-15m}" && timeout=$REPLY
trim "${INPUT_CALLER_REFERENCE:-}" && reference=$REPLY

# The items: a multi-line input is one item a line, taken whole (spaces
# included); a single line is split on spaces. Read into an array, so each
# item reaches cdnpurge as one argument, as written.
items=()
raw=${INPUT_PATHS:-}
raw=${raw//$'\r'/}
if [[ $raw == *$'\n'* ]]; then
  while IFS= read -r line || [[ -n $line ]]; do
    trim "$line"
    if [[ -n $REPLY ]]; then items+=("$REPLY"); fi
  done <<<"$raw"
else
  read -r -a items <<<"$raw" || true
fi

case "$distribution,$target" in
  ,) refuse "give distribution (a CloudFront distribution ID) or target (a target of the targets file)" ;;
  ?*,?*) refuse "give distribution or target, not both" ;;
esac
if [[ -n $targets_file && -z $target ]]; then
  refuse "targets-file is for target: give target too, or leave targets-file out"
fi
if ((${#items[@]} == 0)); then
  refuse "paths is empty: name at least one path or URL, e.g. /index.html or '/blog/*' ('/*' purges everything)"
fi
case "$wait" in
  true | false) ;;
  *) refuse "wait must be true or false, not \"$wait\"" ;;
esac
# A timeout in whole hours, minutes and seconds (90s, 15m, 1h30m), from 1s
# to the 6 hours a job may run on GitHub-hosted runners.
if [[ ! $timeout =~ ^([0-9]+h)?([0-9]+m)?([0-9]+s)?$ || -z $timeout ]]; then
  refuse "timeout \"$timeout\" is not a duration such as 90s, 15m or 1h30m"
fi
seconds=0
rest=$timeout
while [[ $rest =~ ^([0-9]+)([hms])(.*)$ ]]; do
  n=$((10#${BASH_REMATCH[1]}))
  case ${BASH_REMATCH[2]} in
    h) seconds=$((seconds + n * 3600)) ;;
    m) seconds=$((seconds + n * 60)) ;;
    s) seconds=$((seconds + n)) ;;
  esac
  rest=${BASH_REMATCH[3]}
done
if ((seconds < 1 || seconds > 21600)); then
  refuse "timeout $timeout is out of range: from 1s to 6h"
fi
if [[ $reference == *[[:cntrl:]]* ]]; then
  refuse "caller-reference holds a control character"
fi

if [[ -z $reference ]]; then
  # The same step run again in the same attempt of the same job gets the same
  # reference, so CloudFront returns the invalidation it already made; a
  # re-run (a new attempt), another job, or other paths make a new one.
  what=$(printf '%s\0' "${distribution:-target:$target}" "${items[@]}" | sha256)
  reference="${GITHUB_REPOSITORY:-local}/${GITHUB_RUN_ID:-0}/${GITHUB_RUN_ATTEMPT:-1}/${GITHUB_JOB:-job}/${what:0:16}"
fi

args=(invalidate --json "--caller-reference=$reference")
if [[ -n $distribution ]]; then
  args+=("--distribution=$distribution")
else
  args+=("--target=$target")
  if [[ -n $targets_file ]]; then
    export CDNPURGE_CONFIG=$targets_file
  fi
fi
if [[ $wait == true ]]; then
  args+=(--wait "--timeout=$timeout")
fi
# Flags as --name=value, so that a value is never read as a flag, nor a flag
# as a value; after "--", an item is never read as a flag.
args+=(-- "${items[@]}")

answer=$(mktemp)
trap 'rm -f "$answer"' EXIT
code=0
# stdout is the JSON answer; progress and errors go to stderr, into the log.
"$bin" "${args[@]}" >"$answer" || code=$?

# CloudFront's answer has "id"; a provider with no status to follow has
# "ids", one a request. Either may carry "error" (created, then failed).
# One jq for the three (it is slow to start), NUL after each: a message may
# hold newlines.
id='' status='' message=''
{
  IFS= read -r -d '' id && IFS= read -r -d '' status && IFS= read -r -d '' message
} < <(jq -j '[(.id // ((.ids // []) | join(","))), .status, .error.message] | map((. // "" | tostring) + "\u0000") | add' "$answer" 2>/dev/null) || true
if [[ $code != 0 && -z $message ]]; then
  message="cdnpurge invalidate exited $code (see the log above)"
fi

output caller-reference "$reference"
if [[ -n $status ]]; then
  output invalidation-id "$id"
  output status "$status"
fi

where=${distribution:+distribution $(cell "$distribution")}
where=${where:-target $(cell "$target")}
if [[ $code == 0 ]]; then
  summary "### CDN purge: $status" ""
else
  summary "### CDN purge failed" "" "~~~~" "$message" "~~~~" ""
fi
summary "| | |" "|---|---|" "| where | $where |"
if [[ -n $status ]]; then
  summary "| invalidation | $(cell "${id:-none}") |" "| status | $(cell "$status") |"
fi
summary "| caller reference | $(cell "$reference") |" "" "~~~~" "${items[@]}" "~~~~"

if [[ $code != 0 ]]; then
  annotate error "$message"
  exit "$code"
fi
printf 'invalidation %s: %s\n' "${id:-(no ID)}" "$status"
