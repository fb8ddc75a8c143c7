#!/usr/bin/env bash
# Builds the bare-metal test driver and runs a scenario under QEMU (PVH direct boot).
#
#   test-driver/run.sh fixed    the Channel File 291 history through sensor 7.11: the 19 July
#                               file is refused with the 21-versus-20 reason, evaluation goes on
#   test-driver/run.sh flawed   the 2024 access pattern: a real page fault at CR2=0x9C and the
#                               handler's bugcheck-0x50 report, checked here
#   test-driver/run.sh windows-stack
#                               the slot's whole lifecycle (init, updates accepted and refused,
#                               evaluation, rollback, clear, destroy) on a 24 KiB stack (a Windows
#                               x64 kernel stack) with a guard page: every call must fit (a call
#                               that did not would double fault, bugcheck 0x7F) and stay within
#                               half of it
#   test-driver/run.sh bench    `fixed` under QEMU and on the host; time per event compared
#   test-driver/run.sh all      flawed, windows-stack, bench (which runs fixed)
#
# Exit status: 0 when the scenario ended as it must, 1 when it did not, 2 when QEMU is missing.
# Environment: QEMU (default qemu-system-x86_64), QEMU_ACCEL (default tcg; kvm where allowed),
# QEMU_TIMEOUT (seconds, default 120), TEST_DRIVER_TARGET_DIR (default target/test-driver).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
target_dir="${TEST_DRIVER_TARGET_DIR:-$root/target/test-driver}"
qemu="${QEMU:-qemu-system-x86_64}"
accel="${QEMU_ACCEL:-tcg}"
kernel="$target_dir/x86_64-unknown-none/release/sensor-test-kernel"
host_bench="$target_dir/x86_64-unknown-linux-gnu/release/sensor-test-host-bench"

# QEMU exit statuses, (value written to isa-debug-exit << 1) | 1; see kernel/src/exit.rs.
STATUS_PASS=33
STATUS_FAIL=35
STATUS_BUGCHECK_50=161
STATUS_BUGCHECK_7F=255

fail() {
    echo "run.sh: FAIL: $*" >&2
    exit 1
}

require_qemu() {
    if ! command -v "$qemu" >/dev/null 2>&1; then
        echo "run.sh: $qemu not found; install it with" \
            "'apt-get install -y --no-install-recommends qemu-system-x86'" >&2
        exit 2
    fi
}

build_kernel() {
    # RUSTFLAGS from the environment would replace (not extend) the target rustflags in
    # test-driver/.cargo/config.toml, which the kernel needs (relocation-model=static).
    (cd "$here" && env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS \
        cargo build --quiet --release -p sensor-test-kernel \
        --target x86_64-unknown-none --target-dir "$target_dir")
}

build_host_bench() {
    (cd "$here" && cargo build --quiet --release -p sensor-test-host-bench \
        --target x86_64-unknown-linux-gnu --target-dir "$target_dir")
}

# run_qemu SCENARIO LOG: boots the kernel, tees the serial output to LOG, sets $status.
run_qemu() {
    local scenario="$1" log="$2"
    set +e
    timeout "${QEMU_TIMEOUT:-120}" "$qemu" \
        -machine pc -m 128M -accel "$accel" \
        -display none -monitor none -serial stdio -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "$kernel" -append "scenario=$scenario" | tr -d '\r' | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    echo "run.sh: scenario $scenario: QEMU exit status $status"
}

expect_line() {
    local log="$1" pattern="$2" what="$3"
    grep -Eq -- "$pattern" "$log" || fail "$what (no line matching /$pattern/)"
}

scenario_fixed() {
    local log="$target_dir/fixed.log"
    run_qemu fixed "$log"
    [ "$status" -eq "$STATUS_PASS" ] || fail "fixed: QEMU exit status $status, expected $STATUS_PASS (pass)"
    expect_line "$log" '^update C-00000291-2024-07-19-0409: refused status 0xe291002b kind 43 channel 291 rule 5 predicate [0-9]+ field 20 declared 21 supplied 20 build 7\.11' \
        "fixed: the 19 July file was not refused with the 21-versus-20 reason"
    expect_line "$log" '^active after refusal: 2024042400' "fixed: the April content did not stay active"
    expect_line "$log" '^result: pass' "fixed: the kernel did not report a pass"
    echo "run.sh: fixed: pass"
}

scenario_flawed() {
    local log="$target_dir/flawed.log"
    run_qemu flawed "$log"
    [ "$status" -eq "$STATUS_BUGCHECK_50" ] ||
        fail "flawed: QEMU exit status $status, expected $STATUS_BUGCHECK_50 (bugcheck 0x50)"
    local expected_rip reported_rip
    expected_rip="$(sed -n 's/^flawed read instruction at RIP=\(0x[0-9a-f]*\).*/\1/p' "$log")"
    reported_rip="$(sed -n 's/^RIP=\(0x[0-9a-f]*\) (sensor-test-kernel+0x[0-9a-f]*)/\1/p' "$log")"
    [ -n "$expected_rip" ] || fail "flawed: the kernel did not print the flawed read's address"
    [ "$expected_rip" = "$reported_rip" ] ||
        fail "flawed: fault at RIP $reported_rip, not at the flawed read $expected_rip"
    local rip_digits
    rip_digits="$(echo "${expected_rip#0x}" | tr 'a-f' 'A-F')"
    expect_line "$log" "^\*\*\* STOP: 0x00000050 \(0x000000000000009C,0x0000000000000000,0x${rip_digits},0x0000000000000002\)" \
        "flawed: the bugcheck line does not read (0x9C, read, RIP, ...)"
    expect_line "$log" '^PAGE_FAULT_IN_NONPAGED_AREA$' "flawed: no bugcheck name"
    expect_line "$log" '^CR2=0x000000000000009c ' "flawed: CR2 is not 0x9C"
    expect_line "$log" '^error code=0x0: P=0 \(not present\) W/R=0 \(read\) U/S=0 \(supervisor\) RSVD=0 I/D=0 \(data\)' \
        "flawed: the error code is not a supervisor read of a not-present page"
    expect_line "$log" 'r8=0000000000000000 .* r11=0000000000000014' \
        "flawed: r11 is not 0x14 (element 20) or r8 is not the NULL found past the array"
    expect_line "$log" '^interpreter: channel 291 rule 5 predicate [0-9]+ field 20 input count 20 ' \
        "flawed: the interpreter state does not name rule 5, field 20 of 20 inputs"
    echo "run.sh: flawed: pass (real page fault at CR2=0x9C, RIP $reported_rip)"
}

scenario_windows_stack() {
    local log="$target_dir/windows-stack.log"
    run_qemu windows-stack "$log"
    if [ "$status" -eq "$STATUS_BUGCHECK_7F" ]; then
        fail "windows-stack: a call overflowed the 24 KiB stack into its guard page" \
            "(bugcheck 0x7F, double fault): see the stack table in docs/embedding.md"
    fi
    [ "$status" -eq "$STATUS_PASS" ] ||
        fail "windows-stack: QEMU exit status $status, expected $STATUS_PASS (pass)"
    expect_line "$log" '^evaluate: 100 events on a 24 KiB stack: ok' \
        "windows-stack: evaluation did not fit in 24 KiB"
    expect_line "$log" '^update C-00000291-2024-07-19-0527 on the 24 KiB stack: status 0x00000000 ' \
        "windows-stack: the accepted update did not run on the 24 KiB stack"
    expect_line "$log" '^update C-00000291-2024-07-19-0409 on the 24 KiB stack: status 0xe291002b ' \
        "windows-stack: the 19 July file was not refused on the 24 KiB stack"
    expect_line "$log" '^roll back on the 24 KiB stack: status 0x00000000 value 2024042400 released 1,' \
        "windows-stack: the rollback did not run on the 24 KiB stack"
    if grep -q 'UNEXPECTED' "$log"; then
        fail "windows-stack: a call returned what it must not or went over its stack budget"
    fi
    expect_line "$log" '^result: pass' "windows-stack: the kernel did not report a pass"
    local deepest
    deepest="$(sed -n 's/^deepest call: \([0-9]*\) bytes.*/\1/p' "$log")"
    echo "run.sh: windows-stack: pass (every call of the slot's lifecycle fits a 24 KiB stack;" \
        "the deepest used $deepest bytes)"
}

ns_per_event() {
    sed -n 's/^timing: .*: \([0-9.]*\) ns\/event.*/\1/p' "$1"
}

scenario_bench() {
    local qlog="$target_dir/fixed.log" hlog="$target_dir/host.log"
    build_host_bench
    "$host_bench" | tee "$hlog" || fail "bench: the host run failed"
    scenario_fixed
    local q h
    q="$(ns_per_event "$qlog")"
    h="$(ns_per_event "$hlog")"
    [ -n "$q" ] && [ -n "$h" ] || fail "bench: no timing line"
    awk -v q="$q" -v h="$h" -v a="$accel" 'BEGIN {
        printf "run.sh: bench: %.1f ns/event under QEMU (%s), %.1f ns/event on the host: %.1fx\n", q, a, h, q / h }'
}

main() {
    local scenario="${1:-}"
    case "$scenario" in
        fixed | flawed | windows-stack | bench | all) ;;
        *)
            echo "usage: $0 fixed|flawed|windows-stack|bench|all" >&2
            exit 2
            ;;
    esac
    require_qemu
    build_kernel
    [ -x "$kernel" ] || fail "no kernel at $kernel"
    case "$scenario" in
        fixed) scenario_fixed ;;
        flawed) scenario_flawed ;;
        windows-stack) scenario_windows_stack ;;
        bench) scenario_bench ;;
        all)
            scenario_flawed
            scenario_windows_stack
            scenario_bench
            ;;
    esac
    : "$STATUS_FAIL"
}

main "$@"
