#!/usr/bin/env bats
# 430-errors: clear errors, bounded work (issue 9, items 4 and 17): manifests
# bounded as the API server bounds them, duplicate keys, `-f -`, `describe
# NAME`, Ctrl-C during a pull, unknown flags and commands.

load helpers

TESTIMAGES=$(cd "$BATS_TEST_DIRNAME/.." && pwd)/bin/testimages

# pod_yaml POD [LINES...]: a one-container pod that sleeps, with LINES
# added under metadata; prints it.
pod_yaml() {
    local pod=$1 line
    shift
    printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n' "$pod"
    for line in "$@"; do
        printf '  %s\n' "$line"
    done
    printf 'spec:\n  terminationGracePeriodSeconds: 1\n  containers:\n'
    printf '  - name: app\n    image: %s/busybox:latest\n    command: [sleep, "3600"]\n' "$PODBOX_TEST_REGISTRY"
}

# gone PID: the process has exited (a zombie counts as gone).
gone() { ! _alive "$1"; }

# start_stall_registry: a registry that accepts connections and never
# answers. Sets $stall_port and $stall_log ("accepted" per connection).
start_stall_registry() {
    stall_log=$BATS_TEST_TMPDIR/stall.log
    "$TESTIMAGES" -serve-stall 127.0.0.1:0 >"$stall_log" 2>&1 3>&- &
    local pid=$!
    defer_teardown _stop_pid "$pid"
    wait_for --alive "$pid" --log "$stall_log" 10 grep -Eq '^[0-9]+$' "$stall_log"
    stall_port=$(head -1 "$stall_log")
}

# interrupt_podbox ARGS...: start podbox ARGS, wait until the stalling
# registry has a connection, send SIGINT to podbox's PID, and wait for it
# to exit. Sets $status, and $output to its stderr (stdout must be empty).
interrupt_podbox() {
    local out=$BATS_TEST_TMPDIR/int.out err=$BATS_TEST_TMPDIR/int.err
    echo "$_LOG_PROMPT podbox $* &  (then SIGINT)"
    "$PODBOX" "$@" </dev/null >"$out" 2>"$err" 3>&- &
    local pid=$!
    defer_teardown _stop_pid "$pid"
    wait_for --alive "$pid" --log "$err" 30 grep -q accepted "$stall_log"
    kill -INT "$pid"
    wait_for --log "$err" 10 gone "$pid"
    status=0
    wait "$pid" || status=$?
    output=$(cat "$err")
    lines=()
    mapfile -t lines <"$err"
    echo "$output"
    echo "[ rc=$status ]"
    assert "$(cat "$out")" == "" "stdout of podbox $1"
}

###############################################################################
# Item 4: a manifest is bounded as the API server bounds a request

@test "errors: up of a billion laughs manifest fails fast, in one line" {
    PODBOX_TIMEOUT=10 run_podbox 125 up -f "$MANIFESTS/errors-laughs.yaml"
    assert "${#lines[@]}" == 1 "one line of output"
    assert "$output" =~ "^podbox: .*/errors-laughs.yaml:[0-9]+: YAML aliases expand the file past 6 MiB"
}

@test "errors: up of a pod repeating one anchored value past the cap fails in one line" {
    # The issue's case: one anchored 64 KiB string referenced 100 times, a
    # valid pod of 66 KB that expands to 6.4 MiB.
    local f=$BATS_TEST_TMPDIR/wide.yaml i
    {
        pod_yaml "$(safename)"
        printf '    args:\n    - &big "%s"\n' "$(head -c 65536 /dev/zero | tr '\0' x)"
        for ((i = 1; i < 100; i++)); do
            echo '    - *big'
        done
    } >"$f"
    PODBOX_TIMEOUT=10 run_podbox 125 up -d -f "$f"
    assert "${#lines[@]}" == 1 "one line of output"
    assert "$output" =~ "^podbox: $f:[0-9]+: YAML aliases expand the file past 6 MiB"
}

@test "errors: a duplicate key names both lines and the field" {
    local f
    f=$(render errors-dup.yaml "$(safename)")
    run_podbox 125 up -d -f "$f"
    assert "$output" == "podbox: $f:10: spec.containers[0].image: duplicate key (first at line 8)"
}

@test "errors: a manifest over 3 MiB is refused without reading it all" {
    local f=$BATS_TEST_TMPDIR/big.yaml
    {
        pod_yaml "$(safename)"
        head -c $((3 * 1024 * 1024)) /dev/zero | tr '\0' '#'
    } >"$f"
    run_podbox 125 up -d -f "$f"
    assert "$output" =~ "^podbox: $f: larger than 3 MiB, the largest request the API server accepts"
    # An endless stream ends too.
    PODBOX_TIMEOUT=10 run_podbox 125 up -d -f /dev/zero
    assert "$output" =~ "^podbox: /dev/zero: larger than 3 MiB"
}

@test "errors: annotations over 256 KiB are refused as the API server does" {
    local f=$BATS_TEST_TMPDIR/annotations.yaml big
    big=$(head -c $((128 * 1024)) /dev/zero | tr '\0' x)
    pod_yaml "$(safename)" "annotations:" "  a: $big" "  b: ${big}y" >"$f"
    run_podbox 125 up -d -f "$f"
    assert "$output" =~ "^podbox: $f:5: metadata.annotations: too long: must have at most 262144 bytes"
}

###############################################################################
# Item 17: -f -, describe NAME, Ctrl-C during a pull, usage errors

@test "errors: up -f - reads the manifest from stdin, and its errors say <stdin>" {
    PODBOX_STDIN=$(render errors-dup.yaml "$(safename)") run_podbox 125 up -d -f -
    assert "$output" == "podbox: <stdin>:10: spec.containers[0].image: duplicate key (first at line 8)"
}

@test "errors: up -d -f - and down -f - run and remove a pod read from stdin" {
    local pod f=$BATS_TEST_TMPDIR/pod.yaml
    pod=$(safename)
    pod_yaml "$pod" >"$f"
    PODBOX_STDIN=$f run_podbox up -d -f -
    assert "$output" =~ "$pod" "up -d prints the pod name"
    run_podbox ps
    assert "$output" =~ "$pod +Running" "ps shows the pod"
    PODBOX_STDIN=$f run_podbox down -f -
    run_podbox ps -a
    assert "$output" !~ "$pod" "the pod is gone"
}

@test "errors: describe NAME and get NAME work as describe pod NAME" {
    local pod f=$BATS_TEST_TMPDIR/pod.yaml
    pod=$(safename)
    pod_yaml "$pod" >"$f"
    run_podbox up -d -f "$f"
    local form
    for form in "$pod" "pod $pod" "pods $pod" "pod/$pod"; do
        # shellcheck disable=SC2086 # the form is words
        run_podbox describe $form
        assert "$output" =~ "Name: +$pod" "describe $form"
        # shellcheck disable=SC2086
        run_podbox get $form
        assert "${lines[1]}" =~ "^$pod " "get $form"
    done
    run_podbox 125 describe svc
    assert "$output" == 'podbox: describe: "svc": podbox knows only pods'
    run_podbox down "$pod"
}

@test "errors: an unknown flag or command says one line and the hint to --help" {
    local args out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err rc
    for args in "up --bogus" "--bogus ps" "bogus" "image bogus"; do
        echo "$_LOG_PROMPT podbox $args"
        rc=0
        # shellcheck disable=SC2086 # the args are words
        "$PODBOX" $args </dev/null >"$out" 2>"$err" 3>&- || rc=$?
        cat "$err"
        assert "$rc" == 125 "exit code of podbox $args"
        assert "$(cat "$out")" == "" "stdout of podbox $args"
        assert "$(wc -l <"$err")" == 2 "lines on stderr of podbox $args"
        assert "$(head -1 "$err")" =~ "^podbox: (flag provided but not defined: -bogus|unknown command \"bogus\")"
        assert "$(tail -1 "$err")" =~ "^hint: see 'podbox( up| image)? --help'$"
    done
}

@test "errors: Ctrl-C during a pull from a stalled registry exits 130 with one message" {
    start_stall_registry
    interrupt_podbox pull "127.0.0.1:$stall_port/stalled:1"
    assert "$status" == 130 "exit code after SIGINT"
    assert "$(grep -c '^podbox:' <<<"$output")" == 1 "one podbox: line"
    assert "${lines[-1]}" == "podbox: pull of 127.0.0.1:$stall_port/stalled:1 interrupted; the store is unchanged"
    assert "$output" !~ "goroutine" "no stack trace"
}

@test "errors: Ctrl-C during up while pulling exits 130 with one message" {
    start_stall_registry
    local pod
    pod=$(safename)
    interrupt_podbox up -f "$(render errors-stall.yaml "$pod" "$stall_port")"
    assert "$status" == 130 "exit code after SIGINT"
    assert "$(grep -c '^podbox:' <<<"$output")" == 1 "one podbox: line"
    assert "$(tail -1 <<<"$output")" == "podbox: up: interrupted while pulling; nothing was started"
    run_podbox ps -a
    assert "$output" !~ "$pod" "no pod left"
}
