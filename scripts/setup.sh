#!/usr/bin/env bash
# setup.sh: installs what dnspersist needs to build and test on Debian 12.
# Idempotent: when every package is already there it changes nothing.
set -euo pipefail

PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libssl-dev libidn2-dev libpsl-dev publicsuffix libjansson-dev libunbound-dev
      libmicrohttpd-dev libgnutls28-dev libsqlite3-dev libcurl4-openssl-dev libldns-dev libevent-dev
      knot knot-dnssecutils knot-dnsutils
      openssl python3 coreutils curl sqlite3 util-linux dns-root-data
      certbot python3-certbot-dns-rfc2136 lego uacme scdoc mandoc bash-completion
      postgresql-15 libpq-dev haproxy eatmydata dnsperf stress-ng)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#PKGS[@]} packages present"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
