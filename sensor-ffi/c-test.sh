#!/usr/bin/env bash
# Builds libsensor_ffi.a for Linux exactly as the Windows kernel library is built (no std: the
# `panic-handler` feature and panic = "abort"), compiles sensor-ffi/c/incident.c against it and
# include/sensor_core.h with warnings as errors, and runs the 21-versus-20 case; then again with
# the C side under AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer (every content
# buffer is freed only when the library reports it released, so a leak or a use after free
# there fails the run).
# Environment: CC (default cc), SENSOR_FFI_TARGET_DIR (default target/ffi), SANITIZE=0 to skip
# the sanitizer run.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${SENSOR_FFI_TARGET_DIR:-$root/target/ffi}"
triple=x86_64-unknown-linux-gnu

cargo build --quiet --release -p sensor-ffi --features panic-handler \
    --target "$triple" --target-dir "$target_dir" \
    --manifest-path "$root/Cargo.toml" --config 'profile.release.panic="abort"'
lib="$target_dir/$triple/release/libsensor_ffi.a"

cflags=(-std=c11 -Wall -Wextra -Wpedantic -Werror -I "$root/include")
"${CC:-cc}" "${cflags[@]}" -O2 "$root/sensor-ffi/c/incident.c" "$lib" -o "$target_dir/incident"
"$target_dir/incident" "$root/test-driver/fixtures"

if [ "${SANITIZE:-1}" != 0 ]; then
    "${CC:-cc}" "${cflags[@]}" -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
        -fno-sanitize-recover=all "$root/sensor-ffi/c/incident.c" "$lib" -o "$target_dir/incident-asan"
    ASAN_OPTIONS=detect_leaks=1 "$target_dir/incident-asan" "$root/test-driver/fixtures" >/dev/null
    echo "incident: pass under AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer"
fi
