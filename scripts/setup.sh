#!/usr/bin/env bash
# Sets up Portcullis on a Debian machine with Node.js: system packages (NATS, Redis, nftables,
# iptables, ipset, iproute2), pnpm, the workspace's dependencies, and the build. Idempotent: a
# second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# --test: also what the test suite and benchmarks compare against (Debian's fail2ban, whose
# stock filters and fail2ban-regex are the reference). Its service is never started.
with_test=false
[ "${1:-}" = "--test" ] && with_test=true

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have nats-server  || need_pkgs+=(nats-server)
have redis-server || need_pkgs+=(redis-server)
have nft          || need_pkgs+=(nftables)
[ -e /usr/lib/x86_64-linux-gnu/libnftables.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libnftables.so.1 ] || need_pkgs+=(libnftables1)
have iptables     || need_pkgs+=(iptables)
have ipset        || need_pkgs+=(ipset)
have ip           || need_pkgs+=(iproute2)
have make         || need_pkgs+=(make)
have g++          || need_pkgs+=(g++)
have python3      || need_pkgs+=(python3)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing system packages: ${need_pkgs[*]} (run as root, or: sudo apt-get install ${need_pkgs[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
if $with_test && ! command -v fail2ban-regex >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then echo "setup: --test needs root to install fail2ban" >&2; exit 1; fi
  echo "setup: installing fail2ban (reference for tests and benchmarks; its service stays stopped)"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d 101 = "do not start services" for the duration of the install.
  had_policy=false
  [ -e /usr/sbin/policy-rc.d ] && had_policy=true && cp /usr/sbin/policy-rc.d /tmp/policy-rc.d.portcullis
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  (apt-get install -y -qq --no-install-recommends fail2ban >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq --no-install-recommends fail2ban >/dev/null; }) || status=$?
  if $had_policy; then mv /tmp/policy-rc.d.portcullis /usr/sbin/policy-rc.d; else rm -f /usr/sbin/policy-rc.d; fi
  [ "${status:-0}" -eq 0 ] || { echo "setup: installing fail2ban failed" >&2; exit 1; }
fi

# Flood generators for flowmon's tests and `pnpm bench flood` (traffic only between the tests'
# own network namespaces).
if $with_test; then
  need_test=()
  command -v hping3 >/dev/null 2>&1 || need_test+=(hping3)
  command -v slowhttptest >/dev/null 2>&1 || need_test+=(slowhttptest)
  if [ ${#need_test[@]} -gt 0 ]; then
    echo "setup: installing ${need_test[*]} (flood tests)"
    apt-get install -y -qq --no-install-recommends "${need_test[@]}" >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_test[@]}" >/dev/null; }
  fi
fi

# The journald tests write a real journal file with systemd-journal-remote; it must match the
# installed systemd exactly, or apt would upgrade systemd itself.
if $with_test && ! [ -x /lib/systemd/systemd-journal-remote ] && command -v dpkg-query >/dev/null 2>&1; then
  sd_version=$(dpkg-query -W -f='${Version}' systemd 2>/dev/null || true)
  if [ -n "$sd_version" ]; then
    echo "setup: installing systemd-journal-remote=$sd_version (journald tests)"
    apt-get install -y -qq --no-install-recommends "systemd-journal-remote=$sd_version" >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "systemd-journal-remote=$sd_version" >/dev/null; }
  fi
fi

# The Debian packages start their own daemons on the standard ports; Portcullis starts its own
# on free ports, so those are left as they are.

if ! command -v pnpm >/dev/null 2>&1; then
  echo "setup: installing pnpm"
  npm install -g pnpm@10.34.9 >/dev/null
fi

# re2 is a native addon: build it against the system's Node headers when a prebuilt binary cannot
# be downloaded.
if [ -d /usr/include/node ]; then export npm_config_nodedir=/usr; fi
pnpm install --frozen-lockfile --reporter=silent
pnpm build
