#!/usr/bin/env bash
# Builds the Windows kernel static library (x86_64-pc-windows-msvc: no std, panic = "abort",
# the `panic-handler` feature; no linker needed) and checks it against include/sensor_core.h
# with the link-closure checker (sensor-ffi/examples/check_symbols.rs): the documented
# functions are defined, nothing else unmangled is exported, no std or alloc object is inside,
# and resolving from the API leaves only what the embedder provides. Also checks the Linux
# library if sensor-ffi/c-test.sh built it.
# Environment: SENSOR_FFI_TARGET_DIR (default target/ffi, shared with c-test.sh).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${SENSOR_FFI_TARGET_DIR:-$root/target/ffi}"
triple=x86_64-pc-windows-msvc

if ! rustup target list --installed | grep -qx "$triple"; then
    echo "check-symbols.sh: the $triple target is missing: rustup target add $triple" >&2
    exit 2
fi

cargo build --quiet --release -p sensor-ffi --features panic-handler \
    --target "$triple" --target-dir "$target_dir" \
    --manifest-path "$root/Cargo.toml" --config 'profile.release.panic="abort"'
lib="$target_dir/$triple/release/sensor_ffi.lib"
ls -l "$lib"

cargo run --quiet --manifest-path "$root/Cargo.toml" -p sensor-ffi --example check_symbols -- \
    "$lib" "$root/include/sensor_core.h"

linux="$target_dir/x86_64-unknown-linux-gnu/release/libsensor_ffi.a"
if [ -f "$linux" ]; then
    cargo run --quiet --manifest-path "$root/Cargo.toml" -p sensor-ffi --example check_symbols -- \
        "$linux" "$root/include/sensor_core.h"
fi
