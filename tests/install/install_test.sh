#!/usr/bin/env bash
# install_test.sh: cmake --install into a temporary prefix, then build a
# small program against the install tree twice: with pkg-config and with
# find_package(dnspersist). Each must build and run.
# Usage: install_test.sh BUILD_DIR
set -u
BUILD=${1:?BUILD_DIR}
HERE="$(cd "$(dirname "$0")" && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }
cmake --install "$BUILD" --prefix "$tmp/prefix" > "$tmp/install.log" 2>&1 || { bad "install: $(tail -3 "$tmp/install.log")"; exit 1; }
pcdir=$(dirname "$(find "$tmp/prefix" -name dnspersist.pc | head -1)")
[ -f "$pcdir/dnspersist.pc" ] && ok installed_pc || bad "no dnspersist.pc installed"
flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs dnspersist 2>"$tmp/pc.err")
if cc "$HERE/consumer.c" $flags -o "$tmp/c1" 2>"$tmp/cc.err" &&
    LD_LIBRARY_PATH="$tmp/prefix/lib:$pcdir/.." "$tmp/c1" | grep -q "dnspersist .*: https://ca.example/h/"; then
    ok pkg_config_build
else
    bad "pkg-config build: $flags $(cat "$tmp/pc.err" "$tmp/cc.err" | head -5)"
fi
# A static link needs the libraries libdnspersist itself links (issue 26).
static=$(PKG_CONFIG_PATH="$pcdir" pkg-config --static --libs dnspersist 2>&1)
for l in -lunbound -levent -lldns -lcrypto -ljansson; do
    [[ " $static " == *" $l "* ]] || nostatic="${nostatic:-} $l"
done
[ -z "${nostatic:-}" ] && ok pkg_config_static || bad "pkg-config --static lacks$nostatic: $static"
if cmake -S "$HERE" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/cm.log" 2>&1 &&
    cmake --build "$tmp/b" >> "$tmp/cm.log" 2>&1 &&
    LD_LIBRARY_PATH="$pcdir/.." "$tmp/b/consumer" | grep -q "dnspersist"; then
    ok find_package_build
else
    bad "find_package build: $(tail -5 "$tmp/cm.log")"
fi
# What an operator's package gets: man pages, completion, systemd units
# that systemd itself accepts (man pages looked up only once installed).
for f in share/man/man1/dnspersist.1 share/man/man5/dnspersist-record.5 share/man/man8/dnspersist-ca.8 \
    share/bash-completion/completions/dnspersist lib/systemd/system/dnspersist-ca.service \
    lib/systemd/system/dnspersist-renew.service lib/systemd/system/dnspersist-renew.timer \
    lib/sysusers.d/dnspersist.conf etc/dnspersist-ca.conf share/doc/dnspersist/examples/rfc2136.sh; do
    [ -f "$tmp/prefix/$f" ] || missing="${missing:-} $f"
done
[ -z "${missing:-}" ] && ok installed_man_completion_units || bad "not installed:$missing"
if command -v systemd-analyze >/dev/null; then
    for u in dnspersist-ca.service dnspersist-renew.service; do
        sed -E "s|/usr(/local)?/bin/|$tmp/prefix/bin/|" "$tmp/prefix/lib/systemd/system/$u" > "$tmp/$u"
        out=$(systemd-analyze verify --man=no "$tmp/$u" 2>&1)
        [ -z "$out" ] && ok "systemd_verify $u" || bad "systemd-analyze verify $u: $out"
        # Hardening: each unit runs as its own user with a small surface
        # (the renew unit was 8.9 EXPOSED when it ran as root).
        lvl=$(systemd-analyze security --offline=yes "$tmp/$u" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
        awk -v l="${lvl:-99}" 'BEGIN{exit !(l < 3.0)}' && ok "systemd_security $u ($lvl)" || bad "systemd-analyze security $u: ${lvl:-no level}"
    done
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
