#!/usr/bin/env bats
# 480-config: configMap, secret, downwardAPI and projected volumes with the
# kubelet's content, env from the downward API, ConfigMaps and Secrets,
# $(VAR) and the service variables; ConfigMaps in a second -f file or a
# directory; missing and optional references.

load helpers

@test "config: a configMap from a second -f file with items and modes, a downwardAPI volume, env as the kubelet's" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render config.yaml "$pod" 0 SECRET=unused)" -f "$(render config-objects.yaml "$pod")"
    assert "$output" =~ "note: projected volume \"token\": serviceAccountToken has no API server behind it here" "placeholder said"
    assert "$output" !~ "warning: [^ ]+ spec\.(volumes|serviceAccountName|containers\[0\]\.env)" "volumes, env and serviceAccountName not said to be ignored"

    # Items: key → path, mode over defaultMode; the atomic writer's layout.
    run_podbox exec "$pod" -- stat -L -c '%a %n' /etc/app/settings/app.conf /etc/app/level
    assert "${lines[0]}" == "400 /etc/app/settings/app.conf" "item mode"
    assert "${lines[1]}" == "440 /etc/app/level" "defaultMode"
    run_podbox exec "$pod" -- cat /etc/app/settings/app.conf
    assert "$output" == "color=blue"
    run_podbox exec "$pod" -- readlink /etc/app/..data
    assert "$output" =~ "^\.\.[0-9]{4}_[0-9]{2}_[0-9]{2}_" "..data links to the timestamped dir"
    run_podbox exec "$pod" -- readlink /etc/app/level
    assert "$output" == "..data/level"
    run_podbox 1 exec "$pod" -- touch /etc/app/new
    assert "$output" =~ "Read-only file system" "mounted read-only, as the kubelet does"

    # downwardAPI volume, and the projected volume's sources.
    run_podbox exec "$pod" -- cat /etc/podinfo/name
    assert "$output" == "$pod"
    run_podbox exec "$pod" -- cat /etc/podinfo/labels
    assert "$output" == 'app="config-test"'
    run_podbox exec "$pod" -- cat /etc/podinfo/mem_limit
    assert "$output" == "64" "limits.memory in Mi"
    run_podbox exec "$pod" -- cat /var/run/secrets/tokens/level
    assert "$output" == "3"
    run_podbox exec "$pod" -- cat /var/run/secrets/tokens/token
    assert "$output" =~ "no API server" "token placeholder"

    # env: the downward API, the ConfigMap, $(VAR), the service variables.
    # shellcheck disable=SC2016 # expanded in the container
    run_podbox exec "$pod" -- sh -c 'echo "$POD_NAME|$NODE|$POD_IP|$SA|$NOTE|$CPU_LIMIT|$LEVEL|$CFG_level|$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT|$KUBERNETES_PORT"'
    assert "$output" == "$pod|$(hostname)|10.0.2.100|builder|from the downward API|$(($(nproc) * 1000))|3|3|10.96.0.1:443|tcp://10.96.0.1:443"
    wait_for 10 grep -q "hello $pod at level 3" "$(pod_datadir "$pod")/logs/main.log"

    run_podbox get pod "$pod" -o yaml
    assert "$output" =~ "configMapKeyRef" "get shows the references, not their values"

    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "config: a secret volume is on tmpfs and never on disk; -f DIR" {
    local pod secret dir
    pod=$(safename)
    secret=$(random_string 24)
    dir=$BATS_TEST_TMPDIR/manifests
    mkdir "$dir"
    mv "$(render config.yaml "$pod" 0 SECRET="$secret")" "$dir/b-pod.yaml"
    mv "$(render config-objects.yaml "$pod")" "$dir/a-objects.yml"
    echo "not a manifest" >"$dir/notes.txt"
    run_podbox up -d -f "$dir"

    run_podbox exec "$pod" -- grep " /etc/secret " /proc/mounts
    assert "$output" =~ "^tmpfs /etc/secret tmpfs ro," "a read-only tmpfs in the container"
    run_podbox exec "$pod" -- cat /etc/secret/password
    assert "$output" == "$secret"
    run_podbox exec "$pod" -- cat /etc/password
    assert "$output" == "$secret" "subPath into the secret volume"
    run_podbox exec "$pod" -- stat -L -c '%a' /etc/secret/password
    assert "$output" == "644" "the API server's defaultMode"

    # On the host side the volume's directory is empty, and nothing under
    # the pod's data dir holds the secret.
    [[ -d $(pod_datadir "$pod")/volumes/secret ]] || die "no volume directory"
    run ls -A "$(pod_datadir "$pod")/volumes/secret"
    assert "$output" == "" "the secret volume's directory on disk"
    run grep -rqsF "$secret" "$(pod_datadir "$pod")"
    assert "$status" == 1 "secret bytes under $(pod_datadir "$pod")"

    run_podbox down -f "$dir"
    assert_pod_gone "$pod"
}

@test "config: a missing ConfigMap is an error naming it, with the file and line" {
    local pod f
    pod=$(safename)
    f=$(render config.yaml "$pod" 0 SECRET=x)
    run_podbox 125 up -d -f "$f"
    assert "$output" =~ "$f:27: spec.volumes\[0\].configMap.name: ConfigMap \"$pod-config\" not found in $f" "names the ConfigMap, the file and the line"
    assert "$output" =~ "another -f" "says what to do"
    assert_pod_gone "$pod"
}

@test "config: optional references to what no file has: an empty volume, no variable" {
    local pod
    pod=$(safename)
    run_podbox up -f "$(render config-optional.yaml "$pod")"
    assert "$output" =~ "main \| files: 0 token: unset user: admin" "optional: nothing; the projected secret in the foreground"
    # A pod that finished in the foreground stays for logs and describe until down.
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}
