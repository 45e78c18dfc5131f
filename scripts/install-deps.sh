#!/usr/bin/env bash
# install-deps.sh: install what podbox and its tests need on Debian 12 or
# Ubuntu, and let unprivileged users open /dev/net/tun. Safe to rerun: says
# nothing when everything is in place.
#
# As root it installs what is missing. As another user it only checks, and
# says what to run with sudo when something is missing.
set -euo pipefail

# What each package is for:
#   podbox at run time: slirp4netns uidmap runc crun fuse-overlayfs
#   test registry and images: docker-registry busybox-static skopeo
#   the image built from Debian packages (scripts/debian-image.sh): mmdebstrap
#     debian-archive-keyring (an Ubuntu host has no Debian keys)
#   registry with auth: apache2-utils (htpasswd)
#   the test suite and scripts/: bats curl jq iproute2 procps util-linux python3 tmux
#   the completion scripts of tests/550-cli.bats: zsh fish
#   make lint: shellcheck; the build: make git ca-certificates
#   a plain `go build` (cgo, no tags; bin/podbox-dynamic): gcc libc6-dev pkg-config
#     libgpgme-dev libbtrfs-dev
PACKAGES=(
    slirp4netns uidmap runc crun fuse-overlayfs
    docker-registry busybox-static skopeo apache2-utils
    mmdebstrap debian-archive-keyring
    bats curl jq iproute2 procps util-linux python3 tmux zsh fish
    shellcheck
    make git ca-certificates
    gcc libc6-dev pkg-config libgpgme-dev libbtrfs-dev
)

say() { echo "install-deps: $*" >&2; }

missing=()
for p in "${PACKAGES[@]}"; do
    if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
        missing+=("$p")
    fi
done

tun_ok() { [[ -c /dev/net/tun && -r /dev/net/tun && -w /dev/net/tun ]]; }

if [[ $(id -u) -ne 0 ]]; then
    rc=0
    if [[ ${#missing[@]} -gt 0 ]]; then
        say "missing packages: ${missing[*]}"
        say "run: sudo $(realpath "$0")   (or: sudo apt-get install ${missing[*]})"
        rc=1
    fi
    if ! tun_ok; then
        say "/dev/net/tun is not usable by $(id -un): slirp4netns needs it"
        say "run: sudo chmod 0666 /dev/net/tun   (or: sudo $(realpath "$0"))"
        rc=1
    fi
    exit "$rc"
fi

export DEBIAN_FRONTEND=noninteractive
if [[ ${#missing[@]} -gt 0 ]]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    # The docker-registry package's own service would listen on :5000 with
    # its system config; the tests start their own registry (scripts/registry.sh).
    # Keep it from starting during the install where invoke-rc.d asks policy-rc.d.
    policy=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\n# podbox install-deps.sh: no service starts during the install\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
    fi
    log=$(mktemp)
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
        [[ -z $policy ]] || rm -f "$policy"
        cat "$log" >&2
        rm -f "$log"
        say "apt-get install failed (log above)"
        exit 1
    fi
    [[ -z $policy ]] || rm -f "$policy"
    rm -f "$log"
fi

# The registry service: stopped and disabled, whatever the init system.
if [[ -d /run/systemd/system ]]; then
    if systemctl is-enabled --quiet docker-registry.service 2>/dev/null ||
        systemctl is-active --quiet docker-registry.service 2>/dev/null; then
        say "disabling the docker-registry service (the tests run their own)"
        systemctl disable --now --quiet docker-registry.service
    fi
elif [[ -x /etc/init.d/docker-registry ]]; then
    if /etc/init.d/docker-registry status >/dev/null 2>&1; then
        say "stopping the docker-registry service (the tests run their own)"
        /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
    fi
    if compgen -G '/etc/rc[2-5].d/S*docker-registry' >/dev/null; then
        update-rc.d docker-registry disable >/dev/null 2>&1 || true
    fi
fi

# slirp4netns opens /dev/net/tun as the user (inside the user's namespaces):
# it must be 0666, as most distributions ship it. A udev rule keeps it so
# after a reboot where udev runs.
if [[ ! -c /dev/net/tun ]]; then
    say "creating /dev/net/tun"
    mkdir -p /dev/net
    mknod -m 0666 /dev/net/tun c 10 200
fi
if [[ $(stat -c %a /dev/net/tun) != 666 ]]; then
    say "making /dev/net/tun mode 0666"
    chmod 0666 /dev/net/tun
fi
rule=/etc/udev/rules.d/70-podbox-tun.rules
if [[ -d /etc/udev/rules.d && ! -e $rule ]]; then
    echo 'KERNEL=="tun", MODE="0666"' >"$rule"
fi

# Debian kernels before 6.x could turn unprivileged user namespaces off.
if [[ -r /proc/sys/kernel/unprivileged_userns_clone && $(cat /proc/sys/kernel/unprivileged_userns_clone) == 0 ]]; then
    say "enabling unprivileged user namespaces (kernel.unprivileged_userns_clone=1)"
    sysctl -q -w kernel.unprivileged_userns_clone=1
fi
if [[ -r /proc/sys/kernel/apparmor_restrict_unprivileged_userns && $(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns) == 1 ]]; then
    say "warning: AppArmor restricts unprivileged user namespaces here (Ubuntu 24.04+): see 'podbox info'"
fi
