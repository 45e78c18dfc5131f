#!/usr/bin/env bats
# 550-cli: issue 12 items 3, 7 and 8: a pull of an unchanged image says
# "up to date" and copies nothing, an unreachable registry with the image
# present is a warning, shell completion, ps/get -o and --watch.
#
# Every test uses a store of its own (PODBOX_ROOT and PODBOX_RUNROOT, wiped
# from inside the user namespace at teardown), so a first pull copies.

load helpers

REG=${PODBOX_TEST_REGISTRY:-}

setup() {
    basic_setup
    export PODBOX_ROOT=$BATS_TEST_TMPDIR/storage
    export PODBOX_RUNROOT=$BATS_TEST_TMPDIR/runroot
    defer_teardown "$PODBOX" system reset --force
}

teardown() {
    basic_teardown
}

# has_line LINE WHAT: $output has LINE as one of its lines.
has_line() {
    grep -qxF -- "$1" <<<"$output" || die "$2: no line '$1' in: $output"
}

# lines_at_least N REGEX FILE: FILE has at least N lines matching REGEX.
lines_at_least() {
    (($(grep -cE -- "$2" "$3") >= $1))
}

# start_registry2: a second registry with a copy of the suite registry's
# images, that the test may stop; sets $reg2 (127.0.0.1:PORT) and $reg2_dir.
start_registry2() {
    reg2_dir=$BATS_TEST_TMPDIR/registry2
    mkdir -p "$reg2_dir"
    cp -a "$PODBOX_TEST_REGISTRY_DIR/data" "$reg2_dir/data"
    defer_teardown "$BATS_TEST_DIRNAME/../scripts/registry.sh" stop "$reg2_dir"
    reg2=$("$BATS_TEST_DIRNAME/../scripts/registry.sh" start "$reg2_dir" 3>&-)
}

@test "pull: a second pull of an unchanged :latest image says up to date and copies nothing" {
    run_podbox pull "$REG/busybox:latest"
    local id=${lines[-1]}
    assert "$output" =~ "Copying blob" "the first pull copies"
    run_podbox pull "$REG/busybox:latest"
    assert "${#lines[@]}" == 2 "one line and the ID"
    assert "${lines[0]}" == "$REG/busybox:latest: up to date" "status line"
    assert "${lines[1]}" == "$id" "same image"
    # -q: only the ID.
    run_podbox pull -q "$REG/busybox:latest"
    assert "$output" == "$id" "pull -q"
}

@test "up: a pod (re)created with an unchanged :latest image says up to date, without progress" {
    local pod
    pod=$(safename)
    local yaml
    yaml=$(render sleeper.yaml "$pod" 600)
    run_podbox up -d -f "$yaml"
    assert "$output" =~ "Copying blob" "the first up pulls"
    run_podbox down "$pod"
    run_podbox up -d -f "$yaml"
    assert "$output" =~ "$REG/busybox:latest: up to date" "second up"
    assert "$output" !~ "Copying|Pulling" "no progress on the second up"
    run_podbox down "$pod"
}

@test "up: registry unreachable with the image present: one warning line, the pod starts" {
    start_registry2
    run_podbox pull -q "$reg2/busybox:latest"
    "$BATS_TEST_DIRNAME/../scripts/registry.sh" stop "$reg2_dir"
    local digest
    digest=$(jq -er '.images["busybox:latest"].digest' "$PODBOX_TEST_ARCHIVES/images.json")

    local pod yaml
    pod=$(safename)
    yaml=$(PODBOX_TEST_REGISTRY=$reg2 render sleeper.yaml "$pod" 600)
    run_podbox up -d -f "$yaml"
    assert "${lines[0]}" == "warning: registry $reg2 unreachable; using the local $reg2/busybox:latest ($digest)" "warning line"
    assert "$output" !~ "Copying|Pulling" "no progress"
    wait_for 20 pod_status_is "$pod" Running
    run_podbox down "$pod"

    # An explicit pull was asked to fetch: it fails, image present or not.
    run_podbox 125 pull "$reg2/busybox:latest"
    assert "${lines[0]}" =~ "^podbox: pulling $reg2/busybox:latest from $reg2: registry unreachable" "pull of a present image"
    run_podbox 125 pull "$reg2/busybox:1.0"
    assert "$output" =~ "registry unreachable" "absent image"
}

@test "ps -o name, json, yaml, wide; get -o wide, name" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render sleeper.yaml "$pod" 600)"
    wait_for 20 pod_status_is "$pod" Running

    run_podbox ps -o name
    has_line "pod/$pod" "ps -o name"
    run_podbox ps -o json
    assert "$(jq -r '.apiVersion + " " + .kind' <<<"$output")" == "v1 List" "ps -o json is a v1 List"
    assert "$(jq -r --arg p "$pod" '.items[] | select(.metadata.name == $p) | .kind + " " + .status.phase' <<<"$output")" == "Pod Running" "the pod in it"
    run_podbox ps -o yaml
    assert "$output" =~ "kind: List" "ps -o yaml"
    assert "$output" =~ "name: $pod" "ps -o yaml names the pod"
    run_podbox ps -o wide
    assert "${lines[0]}" =~ "^NAME +STATUS +READY +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES$" "ps -o wide header"
    assert "$output" =~ "$pod +Running +1/1 +0 +[0-9]+s +[0-9.]+ +[^ ]+ +<none> +<none>" "ps -o wide row"
    run_podbox get pods -o wide
    assert "${lines[0]}" =~ "^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES$" "get -o wide header"
    run_podbox get pod "$pod" -o name
    assert "$output" == "pod/$pod" "get -o name"
    run_podbox 125 ps -o table
    assert "$output" =~ "is not one of wide, json, yaml, name" "a bad -o"
    run_podbox down "$pod"
}

@test "ps -w prints the table, then a line when a pod starts, without the header again" {
    run_podbox_bg ps -w
    # shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
    local ps_pid=$bg_pid ps_log=$bg_log
    wait_for --alive "$ps_pid" --log "$ps_log" 10 grep -q '^NAME ' "$ps_log"

    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render sleeper.yaml "$pod" 600)"
    wait_for --alive "$ps_pid" --log "$ps_log" 20 grep -Eq "^$pod +Running +1/1 " "$ps_log"
    run_podbox down "$pod"
    # It goes: the row once more, as kubectl prints a deleted pod.
    local n
    wait_for --alive "$ps_pid" --log "$ps_log" 20 lines_at_least 2 "^$pod " "$ps_log"
    kill -TERM "$ps_pid"
    wait "$ps_pid" || die "ps -w exited with $? on SIGTERM"
    n=$(grep -c '^NAME ' "$ps_log")
    assert "$n" == 1 "one header in: $(cat "$ps_log")"
}

@test "get pod NAME -w -o name: the pod, then again when it goes" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render sleeper.yaml "$pod" 600)"
    run_podbox_bg get pod "$pod" -w -o name
    local get_pid=$bg_pid get_log=$bg_log
    wait_for --alive "$get_pid" --log "$get_log" 10 grep -q "^pod/$pod$" "$get_log"
    run_podbox down "$pod"
    wait_for --alive "$get_pid" --log "$get_log" 20 lines_at_least 2 "^pod/$pod$" "$get_log"
    kill -INT "$get_pid"
    wait "$get_pid" || die "get -w exited with $? on SIGINT"
}

@test "completion: the bash script completes a running pod's name, and its container after -c" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render sleeper.yaml "$pod" 600)"

    run_podbox completion bash
    local script=$BATS_TEST_TMPDIR/podbox.bash
    echo "$output" >"$script"
    # As bash calls it on Tab: COMP_LINE up to the cursor, COMP_WORDS split
    # at bash's word breaks.
    complete_in_bash() {
        PATH=$(dirname "$PODBOX"):$PATH bash -c '
            source "$1"; shift
            COMP_LINE="podbox $*"; COMP_POINT=${#COMP_LINE}
            COMP_WORDS=(podbox "$@"); COMP_CWORD=$#
            _podbox
            printf "%s\n" "${COMPREPLY[@]}"' _ "$script" "$@"
    }
    run complete_in_bash logs "${pod:0:6}"
    assert "$status" == 0 "bash ran the completion: $output"
    has_line "$pod" "pod name after logs"
    run complete_in_bash logs "$pod" -c ""
    assert "$output" == "sleeper" "container after -c"
    run complete_in_bash d
    assert "$output" == $'down\ndescribe' "commands"
    run complete_in_bash ps --w
    assert "$output" == "--watch" "flags"

    # The hidden entry the scripts call, directly.
    run_podbox __complete describe pod ""
    has_line "$pod" "__complete describe pod"
    run_podbox __complete completion ""
    assert "$output" == $'bash\nzsh\nfish' "shells"
    run_podbox completion zsh
    assert "$output" =~ "compdef _podbox podbox" "zsh script"
    run_podbox completion fish
    assert "$output" =~ "complete -c podbox" "fish script"
    run_podbox 125 completion tcsh
    run_podbox down "$pod"
}

@test "completion: the fish script completes a pod name; the zsh script parses (each skips without its shell)" {
    command -v fish >/dev/null || command -v zsh >/dev/null || skip "neither fish nor zsh is installed (apt-get install fish zsh)"
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render sleeper.yaml "$pod" 600)"
    if command -v fish >/dev/null; then
        run_podbox completion fish
        echo "$output" >"$BATS_TEST_TMPDIR/podbox.fish"
        # shellcheck disable=SC2016 # fish expands $argv
        run env PATH="$(dirname "$PODBOX"):$PATH" fish -c 'source $argv[1]; complete -C "podbox logs $argv[2]"; complete -C "podbox logs $argv[3] -c "' \
            "$BATS_TEST_TMPDIR/podbox.fish" "${pod:0:6}" "$pod"
        assert "$status" == 0 "fish ran the completion: $output"
        has_line "$pod" "fish: pod name after logs"
        has_line "sleeper" "fish: container after -c"
    fi
    if command -v zsh >/dev/null; then
        run_podbox completion zsh
        echo "$output" >"$BATS_TEST_TMPDIR/_podbox"
        run zsh -n "$BATS_TEST_TMPDIR/_podbox"
        assert "$status" == 0 "zsh -n: $output"
    fi
    run_podbox down "$pod"
}
