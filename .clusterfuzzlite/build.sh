#!/bin/bash -eu
# Builds every fuzz target that must never crash, with AddressSanitizer, into $OUT, with its
# seed corpus and dictionary. Run by ClusterFuzzLite (or OSS-Fuzz's helper.py) inside the
# image of .clusterfuzzlite/Dockerfile. See docs/fuzzing.md.
#
# flawed_finds_291 and flawed_finds_291_raw are left out on purpose: they fuzz the flawed 2024
# model, whose bugcheck they report as a crash by design, so they would fail every run.

cd "$SRC/sensor"

# rust-toolchain.toml pins stable for developers; cargo-fuzz's sanitizer build needs the
# image's nightly.
export RUSTUP_TOOLCHAIN="${RUSTUP_TOOLCHAIN:-nightly}"

targets="interpreter channel_file structured differential sysmon_json"
crash_by_design="flawed_finds_291 flawed_finds_291_raw"

# Every target in fuzz/fuzz_targets/ is either built here or crashes by design; a new or
# renamed target fails the build instead of going unfuzzed.
for f in fuzz/fuzz_targets/*.rs; do
    t=$(basename "$f" .rs)
    case " $targets $crash_by_design " in
        *" $t "*) ;;
        *) echo "fuzz target $t is neither built nor listed as crashing by design" >&2; exit 1 ;;
    esac
done

target_dir="$SRC/sensor/target/clusterfuzzlite"
for t in $targets; do
    if [ ! -f "fuzz/fuzz_targets/$t.rs" ]; then
        echo "no fuzz target $t" >&2
        exit 1
    fi
    # -O --debug-assertions: the optimized build with overflow checks and debug assertions on,
    # as `cargo fuzz build` makes by default and .ci/run fuzzes.
    cargo fuzz build -O --debug-assertions --target-dir "$target_dir" "$t"
    cp "$target_dir/x86_64-unknown-linux-gnu/release/$t" "$OUT/"
    if [ -d "fuzz/corpus/$t" ] && [ -n "$(ls -A "fuzz/corpus/$t")" ]; then
        (cd "fuzz/corpus/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
    fi
done

# The dictionary of channel-file tokens serves every target that reads raw channel files.
for t in interpreter channel_file differential; do
    cp fuzz/dict/channel.dict "$OUT/$t.dict"
done
cp fuzz/dict/json.dict "$OUT/sysmon_json.dict"
echo "built: $targets"
