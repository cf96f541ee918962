#!/usr/bin/env bash
# deb_test.sh: the Debian packages, as a Debian user gets them. Builds
# libdnspersist0, libdnspersist-dev, dnspersist and dnspersist-ca from the
# tracked files (dpkg-buildpackage -us -uc -b, in a copy: nothing is written
# beside the tree), checks that lintian reports no error and no warning,
# that each package holds what it promises, and starts the CA from the
# unpacked dnspersist-ca package. With DP_DEB_INSTALL=1 (set by .ci/run,
# as root) it also installs them with apt-get, checks the system users, the
# state directories and the conffile, starts the installed CA as its user
# with the shipped configuration, runs the renewal as its user, builds a
# program with find_package(dnspersist) and pkg-config --static against
# /usr, and purges what it installed.
# Usage: deb_test.sh
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/wait.sh"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }
tmp=$(mktemp -d)
pids=()
installed_here=0
SUDO=""
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "$installed_here" = 1 ]; then
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq dnspersist dnspersist-ca libdnspersist-dev libdnspersist0 > /dev/null 2>&1
        $SUDO rm -rf /var/lib/dnspersist-ca /var/lib/dnspersist
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
port() { python3 "$SRC/tests/free_port.py"; }

mkdir -p "$tmp/b/src"
(cd "$SRC" && git ls-files -z | xargs -0 tar cf - | tar xf - -C "$tmp/b/src") || { bad "copy of the tree"; exit 1; }
if (cd "$tmp/b/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b > "$tmp/build.log" 2>&1); then
    ok "dpkg-buildpackage"
else
    bad "dpkg-buildpackage: $(tail -15 "$tmp/build.log")"
    exit 1
fi
debs=()
for p in libdnspersist0 libdnspersist-dev dnspersist dnspersist-ca; do
    f=$(ls "$tmp/b/${p}_"*.deb 2>/dev/null | head -1)
    [ -n "$f" ] && debs+=("$f") || bad "no $p package"
done
[ ${#debs[@]} = 4 ] && ok "four packages built"
# lintian: no error and no warning (informational tags are allowed).
lintian --fail-on error,warning "$tmp/b/"*.changes > "$tmp/lintian.log" 2>&1
lrc=$?
[ $lrc = 0 ] && ! grep -q '^[EW]:' "$tmp/lintian.log" && ok "lintian: no error, no warning" || bad "lintian ($lrc): $(grep '^[EW]:' "$tmp/lintian.log" | head)"

# What each package holds.
has() { # PACKAGE PATH...
    local p=$1 f list
    shift
    list=$(dpkg-deb -c "$tmp/b/${p}_"*.deb | awk '{print $6}')
    for f in "$@"; do grep -qxE "\./$f" <<<"$list" || { bad "$p lacks $f"; return; }; done
    ok "$p holds $*"
}
has libdnspersist0 'usr/lib/[a-z0-9_-]+/libdnspersist\.so\.0'
has libdnspersist-dev usr/include/dnspersist/dnspersist.h 'usr/lib/[a-z0-9_-]+/libdnspersist\.a' \
    'usr/lib/[a-z0-9_-]+/pkgconfig/dnspersist\.pc' 'usr/lib/[a-z0-9_-]+/cmake/dnspersist/dnspersistConfig\.cmake'
has dnspersist usr/bin/dnspersist usr/share/man/man1/dnspersist.1.gz lib/systemd/system/dnspersist-renew.timer \
    lib/systemd/system/dnspersist-renew.service usr/share/bash-completion/completions/dnspersist
has dnspersist-ca usr/bin/dnspersist-ca usr/share/man/man8/dnspersist-ca.8.gz lib/systemd/system/dnspersist-ca.service \
    etc/dnspersist-ca.conf usr/share/bash-completion/completions/dnspersist-ca
dpkg-deb -I "$tmp/b/dnspersist-ca_"*.deb conffiles 2>/dev/null | grep -qx /etc/dnspersist-ca.conf &&
    ok "the CA's configuration is a conffile" || bad "/etc/dnspersist-ca.conf is not a conffile"
dpkg-deb -I "$tmp/b/dnspersist-ca_"*.deb postinst | grep -q 'adduser --system' &&
    ok "the CA's postinst makes its system user" || bad "no adduser in the CA's postinst"

# The CA from the unpacked package, with the shipped configuration.
root=$tmp/root
for d in "${debs[@]}"; do dpkg-deb -x "$d" "$root"; done
unit=$root/lib/systemd/system/dnspersist-ca.service
grep -q '^ExecStart=/usr/bin/dnspersist-ca --config /etc/dnspersist-ca.conf ' "$unit" && grep -q '^User=dnspersist-ca' "$unit" &&
    grep -q '^User=dnspersist$' "$root/lib/systemd/system/dnspersist-renew.service" &&
    grep -q '^StateDirectory=dnspersist$' "$root/lib/systemd/system/dnspersist-renew.service" &&
    ok "units name /usr/bin, /etc and their users" || bad "units: $(grep -h '^ExecStart\|^User' "$root"/lib/systemd/system/*.service)"
P=$(port)
"$root/usr/bin/dnspersist-ca" --config "$root/etc/dnspersist-ca.conf" --data "$tmp/data" --listen "localhost:$P" \
    --crl-listen "127.0.0.1:$(port)" > "$tmp/ca.log" 2>&1 &
pids+=($!)
if wait_up "https://localhost:$P/directory" "$tmp/data/root.pem"; then
    ok "the packaged CA starts"
    head -1 "$tmp/ca.log" | python3 -c 'import json,sys; json.loads(sys.stdin.readline())' 2>/dev/null &&
        ok "the shipped configuration logs JSON" || bad "not JSON: $(head -2 "$tmp/ca.log")"
else
    bad "the packaged CA did not start: $(tail -5 "$tmp/ca.log")"
fi
kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; pids=()

if [ "${DP_DEB_INSTALL:-0}" != 1 ]; then
    echo "(DP_DEB_INSTALL unset: the packages were not installed on this machine)"
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
    exit
fi
[ "$(id -u)" = 0 ] || SUDO="sudo -n"
$SUDO true || { bad "DP_DEB_INSTALL=1 needs root or sudo"; echo "$pass passed, $fail failed"; exit 1; }
if dpkg-query -W -f='${Status}' dnspersist-ca 2>/dev/null | grep -q "install ok installed"; then
    bad "dnspersist-ca is already installed on this machine: not touching it"
    exit 1
fi
installed_here=1
if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" > "$tmp/apt.log" 2>&1; then
    ok "apt-get install of the four packages"
else
    bad "apt-get install: $(tail -10 "$tmp/apt.log")"
    exit 1
fi
getent passwd dnspersist-ca > /dev/null && getent passwd dnspersist > /dev/null && ok "system users made" || bad "no system users"
[ "$(stat -c '%U %a' /var/lib/dnspersist-ca)" = "dnspersist-ca 700" ] && [ "$(stat -c '%U %a' /var/lib/dnspersist)" = "dnspersist 750" ] &&
    ok "state directories, owned and closed" || bad "state dirs: $(stat -c '%n %U %a' /var/lib/dnspersist-ca /var/lib/dnspersist)"
P=$(port)
$SUDO runuser -u dnspersist-ca -- /usr/bin/dnspersist-ca --config /etc/dnspersist-ca.conf --data /var/lib/dnspersist-ca \
    --listen "localhost:$P" --crl-listen "127.0.0.1:$(port)" > "$tmp/ca2.log" 2>&1 &
pids+=($!)
if wait_until 90 "the installed CA" $SUDO curl -sf --max-time 5 --cacert /var/lib/dnspersist-ca/root.pem "https://localhost:$P/directory" -o /dev/null; then
    ok "the installed CA starts as dnspersist-ca"
    [ "$($SUDO stat -c %U /var/lib/dnspersist-ca/ca.sqlite)" = dnspersist-ca ] && ok "its database belongs to its user" || bad "ca.sqlite owner $(stat -c %U /var/lib/dnspersist-ca/ca.sqlite)"
else
    bad "the installed CA did not start: $(tail -5 "$tmp/ca2.log")"
fi
out=$($SUDO runuser -u dnspersist -- env DNSPERSIST_STATE=/var/lib/dnspersist /usr/bin/dnspersist renew 2>&1)
rc=$?
[ $rc = 0 ] && ok "renew runs as dnspersist in its state directory" || bad "renew as dnspersist: $rc $out"
for u in dnspersist-ca.service dnspersist-renew.service dnspersist-renew.timer; do
    v=$(systemd-analyze verify --man=no "/lib/systemd/system/$u" 2>&1)
    [ -z "$v" ] && ok "systemd-analyze verify $u" || bad "verify $u: $v"
done
# find_package(dnspersist) and pkg-config on the multiarch /usr install.
if cmake -S "$SRC/tests/install" -B "$tmp/consumer" > "$tmp/cm.log" 2>&1 && cmake --build "$tmp/consumer" >> "$tmp/cm.log" 2>&1 &&
    "$tmp/consumer/consumer" | grep -q dnspersist; then
    ok "find_package(dnspersist) from /usr"
else
    bad "find_package from /usr: $(tail -5 "$tmp/cm.log")"
fi
static=$(pkg-config --static --libs dnspersist)
[[ " $static " == *" -lunbound "* && " $static " == *" -levent "* && " $static " == *" -lldns "* ]] &&
    ok "pkg-config --static names unbound, libevent, ldns" || bad "pkg-config --static: $static"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
