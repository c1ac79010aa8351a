#!/usr/bin/env bash
# vpmd-bridge as a user runs it: bad options and bad ports fail with a clear line; a rules
# file edited while it runs is swapped in (a bad edit keeps the old rules and says why);
# Ctrl-C ends the run with the counters. Two net_null ports stand in for any DPDK port.
# Waits are for output lines (generous limits), never for a time to pass.
# usage: cli_test.sh PATH_TO_VPMD_BRIDGE
set -uo pipefail
bridge=$1
work=$(mktemp -d /tmp/vpmd-bridge-cli-XXXXXX)
trap 'kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
pid=
eal=(--no-pci --no-huge -m 256 --no-telemetry --lcores '0@0,1@1' --file-prefix="brcli$$" --log-level=lib.eal:error)
fail() { echo "cli: $*"; [ -f "$work/out" ] && tail -20 "$work/out"; exit 1; }

# expect_error EXIT_CODE TEXT ARGS...: the run fails with that code and prints TEXT.
expect_error() {
    local want=$1 text=$2; shift 2
    "$bridge" "${eal[@]}" "$@" >"$work/out" 2>&1
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, want $want"
    grep -qF -- "$text" "$work/out" || fail "'$*' did not say: $text"
    echo "cli: ok: $text"
}
expect_error 2 "give two --port or more" -- --port 0
expect_error 2 "--age: 'soon' is not a number" -- --port 0 --port 1 --age soon
expect_error 2 "unknown option --bogus" -- --port 0 --port 1 --bogus 1
expect_error 1 "queues" -- --port net_vpmd_cli,path=/tmp/nowhere.sock,queues=zero --port 0
expect_error 1 "no port 7" --vdev net_null0 --vdev net_null1 -- --port 0 --port 7
printf 'permit all\n' >"$work/bad.acl"
expect_error 1 "line 1: bad rule" --vdev net_null0 --vdev net_null1 -- --port 0 --port 1 --rules "$work/bad.acl"

# wait_for TEXT: until the running bridge has printed TEXT (at most 30 s).
wait_for() {
    for _ in $(seq 300); do
        grep -qF -- "$1" "$work/out" && return 0
        kill -0 "$pid" 2>/dev/null || fail "vpmd-bridge died before printing: $1"
        sleep 0.1
    done
    fail "no '$1' within 30 s"
}
printf 'deny udp any any any 53\ndefault allow\n' >"$work/rules.acl"
"$bridge" "${eal[@]}" --vdev net_null0 --vdev net_null1 -- --port 0 --port 1 --rules "$work/rules.acl" >"$work/out" 2>&1 &
pid=$!
wait_for "vpmd-bridge: port 1"
printf 'permit udp any any any 53\n' >"$work/rules.acl"
wait_for "keeping the old rules: $work/rules.acl: line 1: bad action 'permit'"
printf 'deny udp any any any 53\nallow tcp any any any 80\ndefault deny\n' >"$work/rules.acl"
wait_for "rules reloaded: 2 rules"
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc after SIGINT"
grep -q "rx [1-9][0-9]* packets" "$work/out" || fail "nothing was received"
grep -q "1 rule swaps" "$work/out" || fail "the swap is not counted"
grep -q "rule allow tcp any any any 80" "$work/out" || fail "the new rules are not in the report"
echo "cli: ok: rules swapped while running, clean exit on SIGINT"
