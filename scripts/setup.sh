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
      postgresql-15 libpq-dev haproxy eatmydata dnsperf stress-ng
      softhsm2 opensc
      debhelper dpkg-dev lintian prometheus pebble)
# From bookworm-backports (the HSM tests: OpenSSL's pkcs11 provider).
BACKPORTS=(pkcs11-provider)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=() missing_bpo=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
for p in "${BACKPORTS[@]}"; do installed "$p" || missing_bpo+=("$p"); done
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_bpo[@]} -eq 0 ]; then
    echo "setup: all $((${#PKGS[@]} + ${#BACKPORTS[@]})) packages present"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
if [ ${#missing_bpo[@]} -gt 0 ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" |
        $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list > /dev/null
fi
echo "setup: installing ${missing[*]} ${missing_bpo[*]}"
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ${#missing_bpo[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        -t bookworm-backports "${missing_bpo[@]}"
fi
