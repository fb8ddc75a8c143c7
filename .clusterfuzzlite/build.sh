#!/bin/bash -eu
# Builds every fuzz target that must never crash, with AddressSanitizer, into $OUT, with its
# seed corpus and dictionary. Run by ClusterFuzzLite (or OSS-Fuzz's helper.py) inside the
# image of .clusterfuzzlite/Dockerfile. See docs/fuzzing.md.
#
# flawed_finds_291 is left out on purpose: it fuzzes the flawed 2024 model, whose bugcheck it
# reports as a crash by design, so it would fail every run.

cd "$SRC/sensor"

# rust-toolchain.toml pins stable for developers; cargo-fuzz's sanitizer build needs the
# image's nightly.
export RUSTUP_TOOLCHAIN="${RUSTUP_TOOLCHAIN:-nightly}"

targets="interpreter channel_file structured differential"
built=""
target_dir="$SRC/sensor/target/clusterfuzzlite"
for t in $targets; do
    if [ ! -f "fuzz/fuzz_targets/$t.rs" ]; then
        echo "no fuzz target $t; skipped"
        continue
    fi
    cargo fuzz build -O --target-dir "$target_dir" "$t"
    cp "$target_dir/x86_64-unknown-linux-gnu/release/$t" "$OUT/"
    built="$built $t"
    if [ -d "fuzz/corpus/$t" ] && [ -n "$(ls -A "fuzz/corpus/$t")" ]; then
        (cd "fuzz/corpus/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
    fi
done

# The dictionary of channel-file tokens serves every target that reads raw channel files.
for t in interpreter channel_file differential; do
    case " $built " in
        *" $t "*) cp fuzz/dict/channel.dict "$OUT/$t.dict" ;;
    esac
done
echo "built:$built"
