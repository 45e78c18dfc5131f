#!/usr/bin/env bats
# 515-explain: what podbox does with each Pod field (issue 11 item 4): up
# --strict, podbox explain and its table, and the STATUS of a pod that
# activeDeadlineSeconds ended.

load helpers

@test "up --strict: a field podbox ignores is an error naming its file and line; without it, a warning" {
    local pod f
    pod=$(safename)
    f=$BATS_TEST_TMPDIR/strict.yaml
    cat >"$f" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $pod
spec:
  restartPolicy: Never
  nodeSelector: {disk: ssd}
  containers:
  - name: app
    image: $PODBOX_TEST_REGISTRY/busybox:latest
    command: ["true"]
    resources: {limits: {memory: 64Mi, ephemeral-storage: 1Gi}}
    tty: true
YAML
    run_podbox 125 up --strict -f "$f"
    assert "$output" == "podbox: $f:13: spec.containers[0].tty: not supported yet, ignored; up --strict refuses what podbox would ignore"
    assert_pod_gone "$pod"

    # Without --strict: one warning, for tty only (resources and
    # nodeSelector are accepted without effect, silently), and the pod runs.
    run_podbox up -f "$f"
    assert "$output" =~ "warning: $f:13: spec.containers\[0\].tty: not supported yet, ignored"
    assert "$output" !~ "resources|nodeSelector"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "explain: a field podbox honours, one it ignores, one it accepts without effect" {
    run_podbox explain spec.containers.livenessProbe
    assert "${lines[0]}" == "FIELD:    spec.containers[*].livenessProbe <Probe>"
    assert "${lines[1]}" == "PODBOX:   honoured"
    assert "$output" =~ "httpGet +<HTTPGetAction> +honoured"

    run_podbox explain pod.spec.hostNetwork
    assert "${lines[0]}" == "FIELD:    spec.hostNetwork <boolean>"
    assert "${lines[1]}" == "PODBOX:   ignored with a warning"

    run_podbox explain spec.containers.resources
    assert "${lines[1]}" == "PODBOX:   accepted without effect"

    run_podbox 125 explain spec.containers.nope
    assert "$output" =~ "^podbox: explain spec.containers.nope: no such field in a Pod"
}

@test "explain --table: every top-level PodSpec field has its row" {
    run_podbox explain --table
    assert "${lines[0]}" == "| Pod field | podbox | note |"
    # The fields of PodSpec in k8s.io/api v0.37, written out here rather
    # than read from podbox, so a field the table forgets fails the test.
    local f missing=()
    for f in activeDeadlineSeconds affinity automountServiceAccountToken containers dnsConfig dnsPolicy \
        enableServiceLinks ephemeralContainers hostAliases hostIPC hostNetwork hostPID hostUsers hostname \
        imagePullSecrets initContainers nodeName nodeSelector os overhead preemptionPolicy priority \
        priorityClassName readinessGates resourceClaims resources restartPolicy runtimeClassName \
        schedulerName schedulingGates securityContext serviceAccount serviceAccountName setHostnameAsFQDN \
        shareProcessNamespace subdomain terminationGracePeriodSeconds tolerations topologySpreadConstraints volumes; do
        grep -qE "^\| \`spec\.$f(\[\*\])?\` \| (honoured|honoured in part|accepted without effect|refused|ignored with a warning) \|" <<<"$output" ||
            missing+=("$f")
    done
    assert "${missing[*]}" == "" "PodSpec fields without a row"
    # The committed table is the generated one.
    assert "$output" == "$(sed -n '/^| Pod field/,$p' "$BATS_TEST_DIRNAME/../sandbox/manifest/FIELDS.md")"
}

@test "ps: a pod that activeDeadlineSeconds ended shows DeadlineExceeded, as kubectl" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render fields-deadline.yaml "$pod" 2)"
    wait_for 20 pod_status_is "$pod" DeadlineExceeded
    run_podbox describe pod "$pod"
    assert "$output" =~ "Reason: +DeadlineExceeded"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "imagePullSecrets: a dockerconfigjson Secret in the files lets the pull into a registry that needs auth; a missing one is the kubelet's warning" {
    [[ -x /usr/bin/htpasswd ]] || skip "htpasswd is not installed (package apache2-utils)"
    local dir=$BATS_TEST_TMPDIR/authreg areg pod f
    mkdir -p "$dir"
    htpasswd -Bbn tester s3cret >"$dir/htpasswd"
    areg=$("$BATS_TEST_DIRNAME/../scripts/registry.sh" start --auth "$dir/htpasswd" "$dir") || die "cannot start a registry with auth"
    defer_teardown "$BATS_TEST_DIRNAME/../scripts/registry.sh" stop "$dir"
    run skopeo copy -q --src-tls-verify=false --dest-tls-verify=false --dest-creds tester:s3cret \
        "docker://$PODBOX_TEST_REGISTRY/busybox:latest" "docker://$areg/private:latest"
    assert "$status" == 0 "push to the auth registry: $output"
    # No auth file of the user's lets it in.
    export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json

    pod=$(safename)
    f=$BATS_TEST_TMPDIR/pullsecret.yaml
    cat >"$f" <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: regcred
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths": {"$areg": {"auth": "$(printf tester:s3cret | base64)"}}}'
---
apiVersion: v1
kind: Pod
metadata:
  name: $pod
spec:
  restartPolicy: Never
  imagePullSecrets:
  - name: regcred
  containers:
  - name: app
    image: $areg/private:latest
    command: ["echo", "pulled with the secret"]
YAML
    run_podbox up -f "$f"
    assert "$output" =~ "pulled with the secret"
    run_podbox down "$pod"
    defer_teardown "$PODBOX" rmi "$areg/private:latest"

    # The Secret left out: the kubelet's warning, then the anonymous pull
    # (:latest pulls Always) fails as the registry asks for credentials.
    sed -i '1,/^---$/d' "$f"
    run_podbox 125 up -f "$f"
    assert "$output" =~ "warning: pod \"$pod\": Unable to retrieve some image pull secrets \(default/regcred\); attempting to pull the image may not succeed."
    assert "$output" =~ "registry requires authentication"
    assert_pod_gone "$pod"
}

@test "info: whether resource limits are enforced here is one info line, not a warning" {
    run_podbox info
    assert "$output" =~ "resource limits: +not enforced \((cgroup v1|hybrid cgroups|cgroup v2)[^)]*\); pods' resources are accepted without effect"
    assert "$output" !~ "warning: resource limits"
}
