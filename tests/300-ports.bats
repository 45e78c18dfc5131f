#!/usr/bin/env bats
# 300-ports: hostPort forwarding: the builtin driver (the pod's PID 1 serves
# sockets bound on the host), the bypass driver (the same, and a seccomp
# agent hands TCP clients to the server itself) and the slirp4netns driver,
# TCP and UDP, 127.0.0.1 only, errors before anything starts. Traffic only
# to 127.0.0.1.

load helpers

# listeners PROTO PORT: the local addresses bound to PORT (ss), one a line.
listeners() {
    local flag=-Htln
    [[ $1 == udp ]] && flag=-Huln
    ss "$flag" "sport = :$2" | awk '{ print $4 }'
}

# port_free PROTO PORT: nothing is bound to PORT.
port_free() { [[ -z $(listeners "$1" "$2") ]]; }

# war_sha: the sha256 of sample:v2's /sample.war, as the builder recorded it.
war_sha() { jq -er '.files["sample.war"]' "$PODBOX_TEST_ARCHIVES/images.json"; }

# fetch PORT: GET /sample.war through the hostPort, to a file; prints its sha256.
fetch() {
    curl -sf --max-time 5 -o "$BATS_TEST_TMPDIR/got.war" "http://127.0.0.1:$1/sample.war" &&
        sha256sum "$BATS_TEST_TMPDIR/got.war" | awk '{ print $1 }'
}

# udp_echo PORT WORD: one datagram to 127.0.0.1:PORT; prints the reply.
udp_echo() {
    python3 - "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
s.sendto(sys.argv[2].encode(), ("127.0.0.1", int(sys.argv[1])))
print(s.recv(65535).decode())
EOF
}

@test "ports: the WAR example is served on 127.0.0.1:hostPort only; the port is free after down" {
    local pod port
    pod=$(safename)
    port=$(free_port)
    run_podbox up -d -f "$(render war.yaml "$pod" "$port" DRIVER=)"
    assert "$output" =~ "$pod" "up -d prints the pod name"
    # -d returns once the containers started; httpd may not listen yet.
    wait_for 20 fetch "$port"
    run fetch "$port"
    assert "$output" == "$(war_sha)" "the bytes of the image's /sample.war"
    assert "$(listeners tcp "$port")" == "127.0.0.1:$port" "bound to 127.0.0.1 only"

    run_podbox down "$pod"
    assert_pod_gone "$pod"
    assert "$(listeners tcp "$port")" == "" "port $port free after down"
    # Free for real: another server can listen on it (SO_REUSEADDR, as
    # servers do: the forwarded connection may linger in TIME_WAIT).
    python3 -c "import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $port)); s.listen()"
}

@test "ports: a UDP hostPort round-trips a datagram" {
    local pod port
    pod=$(safename)
    port=$(free_port udp)
    run_podbox up -d -f "$(render udp.yaml "$pod" "$port" DRIVER=)"
    wait_for --log "$(pod_datadir "$pod")/logs/echo.log" 20 udp_echo "$port" ping
    run udp_echo "$port" "hello podbox"
    assert "$output" == "echo:hello podbox"
    assert "$(listeners udp "$port")" == "127.0.0.1:$port" "bound to 127.0.0.1 only"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
    assert "$(listeners udp "$port")" == "" "port $port free after down"
}

@test "ports: a hostPort in use is a one-line error before anything starts; nothing is left bound" {
    local pod port taken
    pod=$(safename)
    port=$(free_port)
    taken=$(free_port)
    # Another process holds 127.0.0.1:$taken.
    python3 -c "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', $taken)); s.listen(); time.sleep(60)" 3>&- &
    defer_teardown kill "$!"
    wait_for 10 bash -c "ss -Htln 'sport = :$taken' | grep -q ."

    run_podbox 125 up -d -f "$(render twoports.yaml "$pod" "$port" PORT2="$taken")"
    assert "$output" == "podbox: pod \"$pod\": hostPort $taken: 127.0.0.1:$taken is in use by another process"
    assert_pod_gone "$pod"
    assert "$(listeners tcp "$port")" == "" "the other hostPort was released"
}

@test "ports: two pods asking for one hostPort: the second fails, the first keeps serving" {
    local pod1 pod2 port
    pod1=$(safename)
    pod2=$(safename)
    port=$(free_port)
    run_podbox up -d -f "$(render war.yaml "$pod1" "$port" DRIVER=)"
    wait_for 20 fetch "$port"
    run_podbox 125 up -d -f "$(render war.yaml "$pod2" "$port" DRIVER=)"
    assert "$output" == "podbox: pod \"$pod2\": hostPort $port: 127.0.0.1:$port is in use by another process"
    assert_pod_gone "$pod2"
    run fetch "$port"
    assert "$output" == "$(war_sha)" "the first pod still serves"
    run_podbox down "$pod1"
    assert_pod_gone "$pod1"
}

@test "ports: a hostPort below ip_unprivileged_port_start names the sysctl" {
    local start pod
    start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
    ((start > 80)) || skip "this host lets users bind port 80 (ip_unprivileged_port_start=$start)"
    pod=$(safename)
    run_podbox 125 up -d -f "$(render war.yaml "$pod" 80 DRIVER=)"
    assert "${lines[0]}" =~ "hostPort 80: binding 127.0.0.1:80: permission denied: .*net.ipv4.ip_unprivileged_port_start=$start"
    assert "${lines[1]}" == "hint: let users bind ports from 80 up: sudo sysctl net.ipv4.ip_unprivileged_port_start=80 (and persist it in /etc/sysctl.d/)"
    assert_pod_gone "$pod"
}

@test "ports: the slirp4netns driver serves the WAR and keeps the client's source address" {
    local pod port
    pod=$(safename)
    port=$(free_port)
    run_podbox up -d -f "$(render war.yaml "$pod" "$port" DRIVER=slirp4netns)"
    wait_for 20 fetch "$port"
    run fetch "$port"
    assert "$output" == "$(war_sha)" "the bytes of the image's /sample.war"
    assert "$(listeners tcp "$port")" == "127.0.0.1:$port" "bound to 127.0.0.1 only"
    # The server saw the client through slirp: not from 127.0.0.1, as the
    # builtin driver's connections are, but from slirp's gateway.
    run_podbox logs "$pod" -c server
    assert "$output" =~ "10\.0\.2\.2\]?:[0-9]+: url:/sample.war" "the client's address as the server saw it"
    assert "$output" !~ "127\.0\.0\.1\]?:[0-9]+: url:" "no request from the pod's loopback"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
    assert "$(listeners tcp "$port")" == "" "port $port free after down"
}

@test "ports: the builtin driver's server sees the pod's loopback; an unknown driver is an error" {
    local pod port
    pod=$(safename)
    port=$(free_port)
    run_podbox 125 up -d --port-driver bogus -f "$(render war.yaml "$pod" "$port" DRIVER=)"
    assert "$output" == "podbox: --port-driver: unknown port driver \"bogus\": use builtin, bypass or slirp4netns"
    assert_pod_gone "$pod"
    # --port-driver builtin overrides the pod's annotation.
    run_podbox up -d --port-driver builtin -f "$(render war.yaml "$pod" "$port" DRIVER=slirp4netns)"
    wait_for 20 fetch "$port"
    run_podbox logs "$pod" -c server
    assert "$output" =~ "127\.0\.0\.1\]?:[0-9]+: url:/sample.war" "the forwarder connects from the pod's 127.0.0.1"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
}

@test "ports: the bypass driver: the server accepts the host's client itself; the pod's localhost still reaches it" {
    local pod port lport
    pod=$(safename)
    port=$(free_port)
    run_podbox up -d -f "$(render war.yaml "$pod" "$port" DRIVER=bypass)"
    wait_for 20 fetch "$port"
    # curl's own port, as the server logs its client: the same connection.
    lport=$(curl -sf --max-time 5 -o "$BATS_TEST_TMPDIR/got.war" -w '%{local_port}' "http://127.0.0.1:$port/sample.war")
    run sha256sum "$BATS_TEST_TMPDIR/got.war"
    assert "${output%% *}" == "$(war_sha)" "the bytes of the image's /sample.war"
    assert "$(listeners tcp "$port")" == "127.0.0.1:$port" "bound to 127.0.0.1 only"
    run_podbox logs "$pod" -c server
    assert "$output" =~ "127\.0\.0\.1\]?:$lport: url:/sample.war" "the server saw curl's own port $lport (no relay in between)"
    # From inside the pod, on the containerPort.
    run_podbox exec "$pod" -c server -- sh -c 'wget -q -O - http://127.0.0.1:8080/sample.war | sha256sum'
    assert "${output%% *}" == "$(war_sha)" "the pod's own localhost reaches the server"
    run_podbox down "$pod"
    assert_pod_gone "$pod"
    assert "$(listeners tcp "$port")" == "" "port $port free after down"
}

# shellcheck disable=SC2154 # bg_pid and bg_log come from run_podbox_bg
@test "ports: in the foreground, the pod's process alone holds the port; Ctrl-C frees it" {
    local pod port pid1
    pod=$(safename)
    port=$(free_port)
    run_podbox_bg up -f "$(render war.yaml "$pod" "$port" DRIVER=)"
    wait_for --alive "$bg_pid" --log "$bg_log" 30 fetch "$port"
    pid1=$(pgrep -u "$(id -u)" -f "podbox-pod:$pod\$")
    # The pod's PID 1 serves the socket; `up` kept no copy of it.
    run ss -Htlnp "sport = :$port"
    assert "$output" =~ "127\.0\.0\.1:$port .*pid=$pid1," "the pod's PID 1 holds the listener"
    assert "$output" !~ "pid=$bg_pid," "up holds no copy"
    assert "$output" !~ "httpd" "no container inherited it"
    kill -INT "$bg_pid"
    wait_for 20 port_free tcp "$port"
    wait_for 20 bash -c "! kill -0 $bg_pid 2>/dev/null"
    assert_pod_gone "$pod"
}
