#!/bin/sh
# Panic-freedom check for sensor-core's entry points.
#
#   proof/no-panic/check.sh [--strict] [--slot]
#
# 1. Builds the proof binary (RuleSet::load and RuleSet::evaluate, and with --slot also every
#    ContentSlot operation, on opaque inputs, for x86_64-unknown-none, fat LTO,
#    panic = "abort") whose panic handler calls an undefined symbol. If it links, no panic is
#    reachable: exit 0.
# 2. If the link fails on that symbol, rebuilds with a defined handler and lists every
#    surviving panic site with its owner and inlined call chain (proof/panic-sites).
#    With --strict, or if any owner is not in allowed-panics.txt, exit 1; otherwise exit 0
#    and say that the proof holds only up to the listed regex-automata sites.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
strict=0
variants=""
for arg in "$@"; do
    case $arg in
        --strict) strict=1 ;;
        --slot) variants="slot" ;;
        *) echo "usage: $0 [--strict] [--slot]" >&2; exit 2 ;;
    esac
done

locked() { grep -A1 "name = \"$1\"" "$2" | sed -n 's/version = "\(.*\)"/\1/p'; }
root_ra=$(locked regex-automata ../../Cargo.lock)
here_ra=$(locked regex-automata Cargo.lock)
if [ "$root_ra" != "$here_ra" ]; then
    echo "regex-automata $here_ra in proof/no-panic/Cargo.lock, $root_ra in Cargo.lock: run cargo update -p regex-automata --precise $root_ra here" >&2
    exit 1
fi

# Cargo builds into $CARGO_TARGET_DIR when it is set (relative to this directory, as cargo reads
# it here), else into ./target.
bin_dir=${CARGO_TARGET_DIR:-target}/x86_64-unknown-none/release

status=0
for features in "" $variants; do
    label=${features:-load+evaluate}
    log=target/link-$label.log
    mkdir -p target
    if cargo build --release --target x86_64-unknown-none --features "$features" >"$log" 2>&1; then
        echo "no-panic [$label]: linked; no panic is reachable"
        continue
    fi
    if ! grep -q "undefined symbol: sensor_core_reachable_panic" "$log"; then
        cat "$log" >&2
        echo "no-panic [$label]: the build failed for another reason" >&2
        exit 1
    fi
    echo "no-panic [$label]: link failed: a panic is reachable; locating the sites"
    cargo build --release --target x86_64-unknown-none --features "locate $features" \
        >"$log.locate" 2>&1 || { cat "$log.locate" >&2; exit 1; }
    cargo run --quiet --release --manifest-path ../panic-sites/Cargo.toml -- \
        "$bin_dir/no-panic-proof" --allow allowed-panics.txt
    case $? in
        2) if [ $strict = 1 ]; then status=1; else
               echo "no-panic [$label]: every surviving site is an allowed regex-automata site"
           fi ;;
        *) status=1 ;;
    esac
done
exit $status
