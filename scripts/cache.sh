# shellcheck shell=bash
# Sourced, not run: fills one folder of the shared cache (${K8SMGR_CACHE:-~/.cache/k8smgr})
# safely when several processes ask for it at once (test files, two `npm test` runs,
# `cluster up`): one builds under an exclusive lock, the others wait and then use its
# result. Used by testenv/build.sh (Go binaries) and scripts/hub-venv.sh (the hub venv).
#
#   cache_fill NAME DIR KEY MODE HINT BUILDER [ARG...]
#
# NAME    what is built, for messages ("kwok", "the hub venv")
# DIR     the final folder; complete when DIR/.k8smgr-complete holds KEY
# KEY     one line naming exactly what DIR holds (versions, hashes of the inputs)
# MODE    move:    BUILDER fills a new folder DIR.tmp-XXXXXX beside DIR, which is then
#                  renamed to DIR (a half-made result never has DIR's name);
#         inplace: BUILDER fills DIR itself, for what cannot be moved (a venv's scripts
#                  hold its absolute path); DIR's name must then name its content (a
#                  hash of KEY), so that a complete DIR is never replaced
# HINT    what to do when the build fails (printed with the step and its log)
# BUILDER a command run as `BUILDER [ARG...] TARGET` with errexit (its first failed
#         command fails the build); its output goes to DIR.log. Call cache_fill as a
#         command of its own, not as a condition (`if cache_fill`, `cache_fill ||`):
#         bash ignores errexit in everything a condition runs.
# CACHE_ABOUT (optional) how long a first build takes, for the "building" line
#
# Guarantees: the stamp is written last, so a folder without it is half-made and never
# used; half-made folders (of a builder that was killed) are removed only by the holder
# of the lock, so never from under a build; the lock is flock(1) on DIR.lock, released
# by the kernel if its holder dies. CACHE_FORCE=1 builds again even when DIR is complete
# (move mode only).

cache_log() { echo "${CACHE_PREFIX:-cache}: $*" >&2; }

cache_complete() { # cache_complete DIR KEY
  [[ -f $1/.k8smgr-complete && $(<"$1/.k8smgr-complete") == "$2" ]]
}

cache_fill() {
  local name=$1 dir=$2 key=$3 mode=$4 hint=$5
  shift 5
  local force=${CACHE_FORCE:-0}
  [[ $mode == move || $mode == inplace ]] || { cache_log "cache_fill: MODE is move or inplace, not '$mode'"; return 2; }
  if [[ $force != 1 ]] && cache_complete "$dir" "$key"; then return 0; fi

  mkdir -p "$(dirname "$dir")" || { cache_log "cannot create $(dirname "$dir"): set K8SMGR_CACHE to a writable folder"; return 1; }
  command -v flock >/dev/null || { cache_log "flock is missing (Debian package util-linux): install it"; return 1; }
  local fd
  exec {fd}>"$dir.lock"
  if ! flock -n "$fd"; then
    cache_log "waiting for another process that builds $name into $dir"
    flock "$fd"
  fi
  # Under the lock from here on: re-check, since the process we waited for may have built it.
  if [[ $force != 1 ]] && cache_complete "$dir" "$key"; then
    exec {fd}>&-
    return 0
  fi
  # Leftovers of builders that died: nobody else builds while we hold the lock.
  rm -rf "$dir".tmp-* "$dir".old-*
  local target
  if [[ $mode == inplace ]]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    target=$dir
  else
    target=$(mktemp -d "$dir.tmp-XXXXXX")
    chmod 755 "$target"
  fi

  local log=$dir.log start=$SECONDS
  cache_log "building $name${CACHE_ABOUT:+ (${CACHE_ABOUT})} into $dir (log: $log)"
  # The builder runs with errexit, so that it fails at its first failed command (bash
  # ignores errexit in a command run as a condition, hence no `if` around it), and
  # without the lock's descriptor: a process it leaves behind must not hold the lock.
  local status errexit=0
  [[ $- == *e* ]] && errexit=1
  set +e
  (exec {fd}>&-; set -e; "$@" "$target") >"$log" 2>&1
  status=$?
  ((errexit)) && set -e
  if ((status != 0)); then
    local took=$((SECONDS - start))
    rm -rf "$target"
    exec {fd}>&-
    {
      echo "${CACHE_PREFIX:-cache}: FAILED: building $name (after ${took} s). Last lines of $log:"
      tail -n 25 "$log" | sed 's/^/    /'
      echo "${CACHE_PREFIX:-cache}: what to do: $hint"
    } >&2
    return 1
  fi
  printf '%s\n' "$key" >"$target/.k8smgr-complete"
  if [[ $mode == move ]]; then
    # Only a forced build finds a complete DIR here: set it aside, put the new one in place.
    if [[ -e $dir ]]; then mv -T "$dir" "$(mktemp -u "$dir.old-XXXXXX")"; fi
    mv -T "$target" "$dir"
    rm -rf "$dir".old-*
  fi
  exec {fd}>&-
  cache_log "built $name in $((SECONDS - start)) s"
}

# A short hash of text or files, for content-addressed folder names.
cache_hash() { sha256sum | cut -c1-16; }
