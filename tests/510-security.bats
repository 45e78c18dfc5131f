#!/usr/bin/env bats
# 510-security: the pod's security and names as the kubelet gives them
# (issue 11, items 4 and 7): runAsUser/runAsGroup/fsGroup with the primary
# group among the supplementary groups, capabilities, sysctls, hostname,
# subdomain, hostAliases, dnsConfig, emptyDir sizeLimit on disk, and the
# hint for a hostPath the containers cannot write.

load helpers

@test "securityContext: the docs' example prints uid=1000 gid=3000 groups=2000,3000; the volumes are fsGroup's" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render security-context.yaml "$pod")"
    wait_for 10 pod_status_is "$pod" Running
    run_podbox exec "$pod" -- id
    assert "$output" == "uid=1000 gid=3000 groups=2000,3000"
    # The kubelet's SetVolumeOwnership: group 2000, setgid, group-writable.
    run_podbox exec "$pod" -- stat -c '%a %g' /data/demo
    assert "$output" == "2777 2000"
    run_podbox exec "$pod" -- sh -c 'echo hello > /data/demo/testfile && stat -c "%u %g" /data/demo/testfile'
    assert "$output" == "1000 2000" "a file the container writes belongs to the fsGroup"
    run_podbox exec "$pod" -- stat -L -c '%a %g' /etc/conf/greeting /etc/creds/password
    assert "$output" == $'644 2000\n440 2000' "configMap and secret files: the group's, readable by it"
    run_podbox exec "$pod" -- cat /etc/creds/password
    assert "$output" == "s3cret" "uid 1000 reads a 0400 secret through fsGroup"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "capabilities: drop ALL refuses chown and port 80; NET_BIND_SERVICE added back binds it; SYS_TIME is said to have no effect; procMount Unmasked" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render security-caps.yaml "$pod" 0 SYSCTL=1024)"
    assert "$output" =~ "warning: container \"bind\": securityContext.capabilities.add: SYS_TIME has no effect rootless: the clock belongs to the host"
    wait_for 10 pod_status_is "$pod" Running
    run_podbox 1 exec -c none "$pod" -- chown 1 /tmp
    assert "$output" =~ "Operation not permitted"
    run_podbox 1 exec -c none "$pod" -- httpd -p 80
    assert "$output" =~ "Permission denied"
    run_podbox exec -c none "$pod" -- grep CapEff /proc/self/status
    assert "$output" =~ "CapEff:[[:space:]]+0000000000000000"
    # procMount: Default masks /proc/timer_list (a bind of /dev/null) and
    # makes /proc/sys read-only; Unmasked does neither.
    run_podbox exec -c none "$pod" -- grep -cE ' /proc/(timer_list|sys) ' /proc/self/mountinfo
    assert "$output" == "2"
    run_podbox 1 exec -c bind "$pod" -- grep -cE ' /proc/(timer_list|sys) ' /proc/self/mountinfo
    assert "$output" == "0"
    run_podbox exec -c bind "$pod" -- httpd -p 80
    run_podbox 1 exec -c bind "$pod" -- wget -q -O /dev/null -S http://127.0.0.1:80/
    assert "$output" =~ "HTTP/1.[01] 404" "httpd answers on port 80"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "sysctls: a safe one is set in the pod's namespace; an unsafe one is refused at load" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render security-caps.yaml "$pod" 0 SYSCTL=80)"
    wait_for 10 pod_status_is "$pod" Running
    run_podbox exec -c none "$pod" -- cat /proc/sys/net/ipv4/ip_unprivileged_port_start
    assert "$output" == "80"
    # Port 80 is unprivileged now: no capability needed.
    run_podbox exec -c none "$pod" -- httpd -p 80
    run_podbox down "$pod"
    assert_pod_gone "$pod"

    local f=$BATS_TEST_TMPDIR/unsafe.yaml
    cat >"$f" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: unsafe
spec:
  securityContext:
    sysctls:
    - {name: kernel.msgmax, value: "65536"}
  containers:
  - name: app
    image: $PODBOX_TEST_REGISTRY/busybox:latest
YAML
    run_podbox 125 up -d -f "$f"
    assert "$output" =~ "^podbox: .*unsafe.yaml:8: spec.securityContext.sysctls\[0\].name: forbidden sysctl: \"kernel.msgmax\" is not one of the kubelet's safe sysctls"
}

@test "hostname, subdomain, hostAliases and dnsConfig in /etc/hosts and /etc/resolv.conf, as the kubelet writes them" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render security-dns.yaml "$pod")"
    wait_for 10 pod_status_is "$pod" Running
    run_podbox exec "$pod" -- hostname
    assert "$output" == "busybox-1"
    run_podbox exec "$pod" -- grep NoNewPrivs /proc/self/status
    assert "$output" =~ "NoNewPrivs:[[:space:]]+0" "allowPrivilegeEscalation unset: no no_new_privs, as the kubelet"
    run_podbox exec "$pod" -- cat /etc/hosts
    assert "$output" =~ $'\n10.0.2.100\tbusybox-1.busybox-subdomain.default.svc.cluster.local\tbusybox-1\n'
    assert "$output" =~ $'\n\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tfoo.remote\tbar.remote'
    run_podbox exec "$pod" -- cat /etc/resolv.conf
    assert "$output" == $'search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 192.0.2.1\noptions ndots:2 edns0'
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "emptyDir sizeLimit on disk: 5 MB into 1Mi evicts the pod with the kubelet's message" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render security-sizelimit.yaml "$pod")"
    wait_for 20 pod_reason_is "$pod" Evicted
    run_podbox get pod "$pod" -o json
    assert "$(jq -r .status.phase <<<"$output")" == Failed
    assert "$(jq -r .status.message <<<"$output")" == 'Usage of EmptyDir volume "cache" exceeds the limit "1Mi". '
    assert "$(jq -r '.status.containerStatuses[0].state.terminated != null' <<<"$output")" == true "the container is stopped"
    assert "$(jq -r '.status.containerStatuses[0].restartCount' <<<"$output")" == 0 "not restarted"
    run_podbox ps
    assert "$output" =~ "$pod +Evicted " "ps STATUS is the reason, as kubectl get"
    run_podbox describe pod "$pod"
    assert "$output" =~ "Warning +Evicted +[^ ]+ +podbox +Usage of EmptyDir volume \"cache\" exceeds the limit \"1Mi\""
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "hostPath the containers' root cannot write: up says so, the pod starts; the user's own directory: nothing said" {
    local pod
    pod=$(safename)
    run_podbox up -d -f "$(render security-hostpath.yaml "$pod" 0 HOSTDIR=/usr)"
    assert "$output" =~ "warning: pod \"$pod\": hostPath volume \"data\": the directory /usr is not writable by the containers \(owner a host user outside podbox's user namespace \(root or another user\), mode drwxr-xr-x; their root is your uid $(id -u) on the host\): they can only read it; to let them write, use a directory you own or: sudo chown $(id -u) /usr"
    wait_for 10 pod_status_is "$pod" Running
    run_podbox exec "$pod" -- ls /data/bin
    run_podbox 1 exec "$pod" -- touch /data/written
    assert "$output" =~ "Permission denied|Read-only file system"
    run_podbox down "$pod"
    assert_pod_gone "$pod"

    pod=$(safename)
    mkdir "$BATS_TEST_TMPDIR/mine"
    run_podbox up -d -f "$(render security-hostpath.yaml "$pod" 0 HOSTDIR="$BATS_TEST_TMPDIR/mine")"
    assert "$output" !~ "not writable"
    wait_for 10 pod_status_is "$pod" Running
    run_podbox exec "$pod" -- touch /data/written
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}
