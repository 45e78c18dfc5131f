#!/usr/bin/env bats
# 470-debian: a real image, built from Debian packages (scripts/debian-image.sh:
# mmdebstrap minbase, then nginx-light, then a page: three layers), run as a
# user would: its own command, a hostPort on 127.0.0.1. nginx's master runs
# as root and its workers as www-data; the files keep the owners Debian gives
# them; down leaves nothing. And Debian's minbase alone (debian:12): bash,
# Debian's users and dpkg's database. Traffic only to 127.0.0.1.

load helpers

setup() {
    basic_setup
    if [[ -z ${PODBOX_TEST_DEBIAN_DIR:-} ]]; then
        # setup_suite fails instead in CI: only PODBOX_TEST_DEBIAN=0 gets here.
        skip "no Debian images (PODBOX_TEST_DEBIAN=0): unset it to build them with scripts/debian-image.sh"
    fi
}

# page PORT: GET / through the hostPort, headers (CRLF stripped) then body.
page() {
    local out
    out=$(curl -sf --max-time 5 -D - "http://127.0.0.1:$1/") || return
    printf '%s\n' "${out//$'\r'/}"
}

# in_pod POD SCRIPT: SCRIPT under the image's sh in the pod's web container.
in_pod() {
    run_podbox exec -c web "$1" -- sh -c "$2"
}

@test "debian: the nginx image has Debian's minbase, nginx-light and a page as three layers" {
    run skopeo inspect --tls-verify=false "docker://$PODBOX_TEST_REGISTRY/debian-nginx:1"
    assert "$status" == 0 "skopeo inspect: $output"
    assert "$(jq '.Layers | length' <<<"$output")" == 3 "layers of debian-nginx:1"
    local base
    base=$(skopeo inspect --tls-verify=false "docker://$PODBOX_TEST_REGISTRY/debian:12" | jq -r '.Layers[0]')
    assert "$(jq -r '.Layers[0]' <<<"$output")" == "$base" "debian-nginx:1 is built on debian:12's layer"
    assert "$(grep -c '^nginx-light=' "$PODBOX_TEST_DEBIAN_DIR/versions")" == 1 "the tree has nginx-light"
}

@test "debian: a pod of Debian's minbase runs bash; its users and packages are Debian's, without nginx" {
    local pod
    pod=$(safename)
    PODBOX_TIMEOUT=180 run_podbox up -f "$(render debian-shell.yaml "$pod")"
    assert "$output" =~ "sh \| uid=33\(www-data\) gid=33\(www-data\) groups=33\(www-data\)" "Debian's www-data"
    assert "$output" =~ "sh \| apt"$'\t'"2\." "dpkg knows apt"
    assert "$output" =~ "sh \| installed: [0-9]{2}" "dpkg's database of minbase"
    assert "$output" =~ "sh \| no nginx" "nginx is in debian-nginx:1's layer only"
    # A pod that finished in the foreground stays for logs and describe until down.
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "debian: nginx from Debian packages serves its page; workers as www-data; owners kept; down removes all" {
    local pod port
    pod=$(safename)
    port=$(free_port)
    # Pulling and unpacking tens of MB takes longer than busybox.
    PODBOX_TIMEOUT=180 run_podbox up -d -f "$(render debian-nginx.yaml "$pod" "$port")"
    wait_for --log "$(pod_datadir "$pod")/logs/web.log" 60 page "$port"

    run page "$port"
    assert "$status" == 0 "GET /"
    assert "$output" =~ $'\n'"podbox: nginx from Debian packages"'$' "the page of the top layer"
    assert "$output" =~ $'\n'"X-Podbox-Layer: config"$'\n' "the config line of the top layer is read"
    assert "$output" =~ $'\n'"Server: nginx"$'\n' "server_tokens off: no version"

    # Seen from inside: the master as root, the workers (one per CPU, at
    # least one) as www-data, none as root.
    # (The effective uid of /proc/PID/status, by name from the image's
    # passwd: the owner of /proc/PID is root for a process that is not
    # dumpable.)
    # shellcheck disable=SC2016 # expanded in the container
    in_pod "$pod" 'for d in /proc/[0-9]*; do
        c=$(tr "\0" " " <"$d/cmdline" 2>/dev/null) || continue
        uid=$(sed -n "s/^Uid:[[:space:]]*[0-9]*[[:space:]]*\([0-9]*\).*/\1/p" "$d/status" 2>/dev/null) || continue
        case $c in nginx:*) echo "$(getent passwd "$uid" | cut -d: -f1) $c" ;; esac
    done'
    assert "$output" =~ "root nginx: master process nginx -g daemon off;" "the master, as root"
    assert "$output" =~ "www-data nginx: worker process" "a worker, as www-data"
    assert "$output" !~ "root nginx: worker" "no worker as root"

    # The owners and modes in Debian's packages, through the layers and the
    # user namespace: root's files, the shadow group, www-data's logs.
    in_pod "$pod" 'stat -c "%U:%G %a %n" /etc/nginx/nginx.conf /etc/shadow /usr/bin/chage /var/log/nginx/error.log /var/lib/nginx'
    assert "${lines[0]}" == "root:root 644 /etc/nginx/nginx.conf"
    assert "${lines[1]}" == "root:shadow 640 /etc/shadow"
    assert "${lines[2]}" == "root:shadow 2755 /usr/bin/chage"
    assert "${lines[3]}" == "www-data:adm 640 /var/log/nginx/error.log"
    assert "${lines[4]}" == "root:root 755 /var/lib/nginx"
    # What nginx made at start, as its master does on a host: its temp
    # directory, for the workers.
    in_pod "$pod" 'stat -c "%U %a" /var/lib/nginx/body'
    assert "$output" == "www-data 700" "nginx's client body directory"
    # A worker writes the access log it was given, as www-data.
    in_pod "$pod" 'cat /var/log/nginx/access.log'
    assert "$output" =~ '"GET / HTTP/1.1" 200' "the worker logged the request"

    run_podbox down "$pod"
    assert_pod_gone "$pod"
    run page "$port"
    assert "$status" != 0 "nothing answers on $port after down"
}
