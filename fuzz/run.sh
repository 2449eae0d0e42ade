#!/usr/bin/env bash
# Builds the fuzz targets and fuzzes each for SECONDS, one after another (one afl-fuzz at a
# time: this is a 2-core machine), then minimises each queue back into fuzz/corpus/<target>/.
#
#   fuzz/run.sh SECONDS [TARGET...]        e.g.  fuzz/run.sh 900   or   fuzz/run.sh 120 labels
#
# Environment (all optional):
#   CARGO_TARGET_DIR  build directory      (default /root/.cache/glimpse/fuzz-target)
#   AFL_OUT           afl-fuzz output root (default /tmp/afl-out; each target's dir is replaced)
#   AFL_CRASHES       crashes and hangs are copied here (default /tmp/afl-crashes/<target>/)
#   AFL_TIMEOUT_MS    per-input time limit (default 2000)
#   AFL_MEM_MB        per-input memory limit (default 4096; an input that needs more aborts
#                     with "memory allocation failed", which is reported as a crash)
#   NO_CMIN=1         leave fuzz/corpus/ alone
#   CMIN_ONLY=1       neither build nor fuzz: minimise the queues already in $AFL_OUT
#
# Uses the AFL++ that `cargo install cargo-afl` built (`cargo afl fuzz`, `cargo afl cmin`):
# it matches the runtime afl.rs links into the targets. See README.md.
set -euo pipefail

seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(model gradients description labels)

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/root/.cache/glimpse/fuzz-target}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
out_root=${AFL_OUT:-/tmp/afl-out}
crash_root=${AFL_CRASHES:-/tmp/afl-crashes}
timeout_ms=${AFL_TIMEOUT_MS:-2000}
mem_mb=${AFL_MEM_MB:-4096}
bin_dir=$CARGO_TARGET_DIR/release

# No CPU frequency scaling here, no crash reporter to worry about, and no UI (log to a file).
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
# A seed that crashes or times out (a hostile file that still trips a bug) is reported below
# by the replay, and skipped rather than stopping the run.
export AFL_IGNORE_SEED_PROBLEMS=1
# `cargo afl build` refuses to build if the AFL++ runtime was built for another rustc.
[ "${CMIN_ONLY:-0}" = 1 ] || cargo afl build --release -j"$CARGO_BUILD_JOBS"

# afl-cmin looks for afl-showmap on PATH first: Debian's afl++ package (4.04c) would be found
# there, and it neither takes 4.40c's options nor speaks the forkserver protocol of the runtime
# afl.rs links in. Put cargo-afl's own AFL++ first.
afl_data=${XDG_DATA_HOME:-$HOME/.local/share}/afl.rs
rustc_id=rustc-$(rustc -vV | awk '/^release:/ { r = $2 } /^commit-hash:/ { h = substr($2, 1, 7) } END { print r "-" h }')
afl_version=$(cargo afl --version | awk '{ print $2 }')
afl_bin=$afl_data/$rustc_id/afl.rs-$afl_version/afl/bin
[ -x "$afl_bin/afl-showmap" ] || { echo "no AFL++ at $afl_bin: run 'cargo afl config --build'" >&2; exit 2; }
export PATH=$afl_bin:$PATH

# One line of fuzzer_stats (AFL++ >= 4 names first, older names as a fallback).
stat() {
    local file=$1; shift
    local key
    for key in "$@"; do
        local v
        v=$(awk -F' *: *' -v k="$key" '$1 == k { print $2 }' "$file")
        if [ -n "$v" ]; then echo "$v"; return; fi
    done
    echo "?"
}

# Minimises target $1's queue into the committed corpus: afl-cmin keeps, for each edge, the
# smallest input that reaches it (`-e`: edges only, not AFL's hit-count buckets, which keeps
# the corpus to a few hundred small files) and drops crashing and hanging inputs. Only inputs
# under 100 KB; each is named by content (`q-<sha1 prefix>`) unless it is a named seed.
minimise() {
    local t=$1 bin=$bin_dir/$1 corpus=$here/corpus/$1 out=$out_root/$1
    [ -d "$out/default/queue" ] || { echo "   no queue in $out" >&2; return 1; }
    local work f h
    work=$(mktemp -d)
    mkdir "$work/in"
    # The queue starts with the seeds (less any that crash), so it holds them too.
    find "$out/default/queue" -maxdepth 1 -type f -size -100k -exec cp -t "$work/in" {} +
    if ! timeout 3600 cargo afl cmin -e -i "$work/in" -o "$work/min" -t "$timeout_ms" -m "$mem_mb" -- "$bin" \
        > "$out_root/$t.cmin.log" 2>&1; then
        echo "   afl-cmin failed for $t (see $out_root/$t.cmin.log); corpus left as it was" >&2
        rm -rf "$work"
        return 1
    fi
    declare -A named=()
    for f in "$corpus"/*; do named[$(sha1sum < "$f" | cut -c1-40)]=$(basename "$f"); done
    rm -f "$corpus"/*
    for f in "$work/min"/*; do
        h=$(sha1sum < "$f" | cut -c1-40)
        cp "$f" "$corpus/${named[$h]:-q-${h:0:16}}"
    done
    rm -rf "$work"
    echo "   corpus/$t: $(ls "$corpus" | wc -l) files, $(du -sb "$corpus" | cut -f1) bytes"
}

summary=()
for t in "${targets[@]}"; do
    bin=$bin_dir/$t
    [ -x "$bin" ] || { echo "no such target: $t ($bin)" >&2; exit 2; }
    if [ "${CMIN_ONLY:-0}" = 1 ]; then
        echo "== minimising $t"
        minimise "$t" || true
        continue
    fi
    corpus=$here/corpus/$t
    out=$out_root/$t
    crashes=$crash_root/$t
    mkdir -p "$crashes"
    rm -rf "$out"
    mkdir -p "$out_root"

    # Replay every seed outside afl (the target then reads one input from stdin and runs it
    # once): a seed that dies by a signal or does not finish is a finding in itself.
    for seed in "$corpus"/*; do
        set +e
        timeout $((timeout_ms / 1000 + 5)) "$bin" < "$seed" > /dev/null 2> "$crashes/.replay.log"
        rc=$?
        set -e
        if [ $rc -ge 124 ]; then
            echo "SEED $t/$(basename "$seed") exits $rc:" >&2
            grep -m1 -A1 "panicked" "$crashes/.replay.log" >&2 || tail -2 "$crashes/.replay.log" >&2
            cp "$seed" "$crashes/seed-$(basename "$seed")"
        fi
    done
    rm -f "$crashes/.replay.log"

    echo "== fuzzing $t for ${seconds}s (log: $out_root/$t.log)"
    set +e
    cargo afl fuzz -i "$corpus" -o "$out" -V "$seconds" -t "$timeout_ms" -m "$mem_mb" -- "$bin" \
        > "$out_root/$t.log" 2>&1
    rc=$?
    set -e
    stats=$out/default/fuzzer_stats
    if [ $rc -ne 0 ] || [ ! -f "$stats" ]; then
        echo "afl-fuzz failed for $t (exit $rc):" >&2
        tail -20 "$out_root/$t.log" >&2
        exit 1
    fi

    ncrash=0
    for f in "$out"/default/crashes/id:* "$out"/default/hangs/id:*; do
        [ -f "$f" ] || continue
        case $f in */crashes/*) kind=crash ;; *) kind=hang ;; esac
        # No ':' or ',' in the saved names.
        name=$(basename "$f" | tr ':,' '_-')
        cp "$f" "$crashes/$kind-$name"
        ncrash=$((ncrash + 1))
    done

    line=$(printf '%-12s execs %-10s exec/s %-8s corpus %-6s crashes %-4s hangs %-4s' "$t" \
        "$(stat "$stats" execs_done)" "$(stat "$stats" execs_per_sec)" \
        "$(stat "$stats" corpus_count paths_total)" \
        "$(stat "$stats" saved_crashes unique_crashes)" "$(stat "$stats" saved_hangs unique_hangs)")
    echo "$line"
    summary+=("$line")
    [ $ncrash -eq 0 ] || echo "   $ncrash crash/hang inputs copied to $crashes/"

    [ "${NO_CMIN:-0}" = 1 ] || minimise "$t" || true
done

total=$(du -sb "$here/corpus" | cut -f1)
if [ ${#summary[@]} -gt 0 ]; then
    echo
    echo "== summary (${seconds}s each)"
    printf '%s\n' "${summary[@]}"
fi
echo "corpus total: $total bytes in $(find "$here/corpus" -type f | wc -l) files"
[ "$total" -le $((2 * 1024 * 1024)) ] || echo "WARNING: the corpus is over 2 MB" >&2
