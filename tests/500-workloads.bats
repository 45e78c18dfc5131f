#!/usr/bin/env bats
# 500-workloads: Deployments, StatefulSets and PersistentVolumeClaims: the
# pods their controllers would make, under deterministic controller names;
# down -f removes what up -f made; claims outlive down unless --volumes.

load helpers

# The controllers' alphabet for generated names.
ID='[bcdfghjklmnpqrstvwxz2456789]'

# pods_of PREFIX: the pods `podbox ps` lists whose name starts with PREFIX.
pods_of() {
    "$PODBOX" ps -a 2>/dev/null | awk -v p="$1" 'NR > 1 && index($1, p) == 1 { print $1 }' | sort -u
}

# claim_dir NAME: the directory of claim NAME of namespace default.
claim_dir() { echo "${XDG_DATA_HOME}/podbox/claims/default/$1"; }

@test "workloads: a Deployment of 2 replicas makes two pods with controller names, each serving; down -f removes both" {
    local name file
    name=$(safename)
    file=$(render workloads-deploy.yaml "$name")
    defer_teardown "$PODBOX" down -f "$file"
    run_podbox up -d -f "$file"
    local -a pods
    mapfile -t pods < <(pods_of "$name-")
    assert "${#pods[@]}" == 2 "two pods: ${pods[*]}"
    assert "${pods[0]}" != "${pods[1]}" "distinct names"
    local p hash=""
    for p in "${pods[@]}"; do
        assert "$p" =~ "^$name-$ID{1,10}-$ID{5}\$" "web-<hash>-<id>"
        [[ -z $hash ]] || assert "${p%-*}" == "$hash" "one ReplicaSet"
        hash=${p%-*}
        # Each serves its own name on its own localhost:8080.
        wait_for 20 "$PODBOX" exec "$p" -c server -- wget -qO- http://127.0.0.1:8080/
        run_podbox exec "$p" -c server -- wget -qO- http://127.0.0.1:8080/
        assert "$output" == "served by $p"
        run_podbox describe pod "$p"
        assert "$output" =~ "Controlled By: +ReplicaSet/$hash" "describe names the controller"
        assert "$output" =~ "pod-template-hash=${hash#"$name"-}" "the controller's label"
    done
    # A new template (another pod-template-hash) and fewer replicas: down
    # -f of the new file still removes the pods of the old one, as kubectl
    # delete -f removes a Deployment with all its ReplicaSets.
    local edited=$BATS_TEST_TMPDIR/edited.yaml
    sed -e 's/replicas: 2/replicas: 1/' -e 's/terminationGracePeriodSeconds: 2/terminationGracePeriodSeconds: 1/' "$file" >"$edited"
    run_podbox up -d -f "$edited"
    local -a now
    mapfile -t now < <(pods_of "$name-")
    local new=""
    for p in "${now[@]}"; do
        [[ ${p%-*} == "$hash" ]] || new=$p
    done
    assert "$new" =~ "^$name-$ID{1,10}-$ID{5}\$" "a pod of the new template"
    run_podbox down -f "$edited"
    local removed=$output
    for p in "${pods[@]}" "$new"; do
        assert "$removed" =~ "$p" "down -f removed $p"
        assert_pod_gone "$p"
    done
}

@test "workloads: a StatefulSet pod is <name>-0 with host name <name>-0 and its claim data-<name>-0" {
    local name file
    name=$(safename)
    file=$(render workloads-sts.yaml "$name")
    defer_teardown "$PODBOX" down --volumes -f "$file"
    run_podbox up -d -f "$file"
    assert "$(pods_of "$name")" == "$name-0"
    wait_for 20 "$PODBOX" exec "$name-0" -- cat /data/who
    run_podbox exec "$name-0" -- hostname
    assert "$output" == "$name-0"
    run_podbox exec "$name-0" -- cat /data/who
    assert "$output" == "$name-0" "written on the claim"
    [[ -d $(claim_dir "data-$name-0") ]] || die "no directory for claim data-$name-0"
    run_podbox describe pod "$name-0"
    assert "$output" =~ "Controlled By: +StatefulSet/$name"
    run_podbox down --volumes -f "$file"
    assert "$output" =~ "persistentvolumeclaim/data-$name-0"
    assert_pod_gone "$name-0"
    [[ ! -e $(claim_dir "data-$name-0") ]] || die "claim data-$name-0 left after down --volumes"
}

@test "workloads: a PersistentVolumeClaim's file survives down and up; down --volumes removes it" {
    local name file claim
    name=$(safename)
    file=$(render workloads-pvc.yaml "$name")
    claim=$(claim_dir "$name-data")
    defer_teardown "$PODBOX" down --volumes -f "$file"
    run_podbox up -d -f "$file"
    wait_for 20 "$PODBOX" exec "$name" -- cat /data/starts
    run_podbox down -f "$file"
    assert "$output" !~ "persistentvolumeclaim" "no claim removed without --volumes"
    assert_pod_gone "$name"
    [[ -f $claim/starts ]] || die "the claim's file did not survive down: $(ls -la "$claim" 2>&1)"

    run_podbox up -d -f "$file"
    wait_for 20 bash -c "[[ \$('$PODBOX' exec '$name' -- cat /data/starts | wc -l) == 2 ]]"
    run_podbox exec "$name" -- cat /data/starts
    assert "$output" == $'started\nstarted' "the second start found the first's line"

    run_podbox down --volumes -f "$file"
    assert "$output" =~ "persistentvolumeclaim/$name-data"
    assert_pod_gone "$name"
    [[ ! -e $claim ]] || die "claim left after down --volumes: $(ls -la "$claim")"
}

@test "workloads: replicas 2 with a hostPort is refused before anything starts" {
    local name port file
    name=$(safename)
    port=$(free_port)
    file=$(render workloads-hostport.yaml "$name" "$port")
    run_podbox 125 up -d -f "$file"
    assert "$output" =~ "spec\.template\.spec\.containers\[0\]\.ports\[0\]\.hostPort: Deployment \"$name\" has 2 replicas but hostPort $port: podbox runs them all on this machine, where only one pod can have port $port"
    assert "$(pods_of "$name")" == "" "no pod started"
}

@test "workloads: a Service of type NodePort publishes its pod's named targetPort on 127.0.0.1:nodePort" {
    local name port file
    name=$(safename)
    port=$(free_port)
    file=$(render workloads-service.yaml "$name" "$port")
    defer_teardown "$PODBOX" down -f "$file"
    run_podbox up -d -f "$file"
    local pod
    pod=$(pods_of "$name-")
    assert "$output" =~ "note: Service \"$name\" \(NodePort\) publishes 127.0.0.1:$port → pod \"$pod\" port 8080/TCP" "up says what it published"
    wait_for 20 curl -sf --max-time 2 "http://127.0.0.1:$port/"
    run curl -sf --max-time 5 "http://127.0.0.1:$port/"
    assert "$output" == "served by $pod"

    # Another nodePort: up recreates the pod it publishes, on the new port.
    local port2
    port2=$(free_port)
    [[ $(render workloads-service.yaml "$name" "$port2") == "$file" ]] || die "render wrote another file"
    run_podbox up -d -f "$file"
    assert "$output" =~ "$pod: recreated \(Service $name changed\)" "up names the Service"
    wait_for 20 curl -sf --max-time 2 "http://127.0.0.1:$port2/"
    run curl -sf --max-time 5 "http://127.0.0.1:$port2/"
    assert "$output" == "served by $pod"
    run curl -sf --max-time 2 "http://127.0.0.1:$port/"
    assert "$status" != 0 "the old nodePort is closed"

    run_podbox down -f "$file"
    assert_pod_gone "$pod"
    run curl -sf --max-time 2 "http://127.0.0.1:$port2/"
    assert "$status" != 0 "the port is closed with the pod"
}

@test "workloads: a claim in none of the files is made with a note; down NAME --volumes removes the pod and its claim" {
    local name file claim
    name=$(safename)
    file=$BATS_TEST_TMPDIR/implicit.yaml
    # The pod of workloads-pvc.yaml without its PersistentVolumeClaim.
    sed '1,/^---$/d' "$(render workloads-pvc.yaml "$name")" >"$file"
    claim=$(claim_dir "$name-data")
    defer_teardown "$PODBOX" down --volumes -f "$file"
    run_podbox up -d -f "$file"
    assert "$output" =~ "note: PersistentVolumeClaim \"$name-data\" is in none of the files: podbox made it, an empty directory \($claim\) kept until podbox down --volumes"
    wait_for 20 "$PODBOX" exec "$name" -- cat /data/starts
    [[ -f $claim/starts ]] || die "the pod did not write on the claim's directory"
    run_podbox down "$name" --volumes
    assert "$output" =~ "persistentvolumeclaim/$name-data"
    assert_pod_gone "$name"
    [[ ! -e $claim ]] || die "claim left after down NAME --volumes"
}
