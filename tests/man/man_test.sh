#!/usr/bin/env bash
# man_test.sh: the man pages the build made from docs/man/*.scd are clean
# under mandoc -T lint (warnings and worse; scdoc's own empty-paragraph
# idiom excepted), name every client command, every option of every client
# command (as its --help lists them) and every CA option, and the
# bash completion offers the commands and a command's options.
# Usage: man_test.sh BUILD_MAN_DIR CLI CA COMPLETION
set -u
MAN=${1:?MANDIR}; CLI=${2:?CLI}; CA=${3:?CA}; COMP=${4:?COMPLETION}
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }
command -v mandoc >/dev/null || { echo "SKIP: mandoc not installed (apt-get install mandoc)"; exit 77; }
[ -d "$MAN" ] || { echo "SKIP: no man pages built (scdoc was not found at configure time: apt-get install scdoc)"; exit 77; }
for p in dnspersist.1 dnspersist-record.5 dnspersist-ca.8; do
    [ -s "$MAN/$p" ] || { bad "$p not built"; continue; }
    w=$(mandoc -T lint -W warning "$MAN/$p" 2>&1 | grep -v "skipping paragraph macro")
    [ -z "$w" ] && ok "lint $p" || bad "lint $p: $w"
done
txt=$(mandoc -T ascii "$MAN/dnspersist.1" | col -b)
for c in $("$CLI" --help | awk '/^commands:/{f=1;next} f && /^  [a-z]/{print $1}'); do
    grep -q "$c" <<<"$txt" || bad "dnspersist(1) lacks the command $c"
done && ok "dnspersist.1 names every command"
missing=""
for c in $("$CLI" --help | awk '/^commands:/{f=1;next} f && /^  [a-z]/{print $1}'); do
    for o in $("$CLI" "$c" --help 2>&1 | grep -oE -- '--[a-z0-9-]+' | sort -u); do
        grep -q -- "$o" <<<"$txt" || missing="$missing $c$o"
    done
done
[ -z "$missing" ] && ok "dnspersist.1 names every option of every command" || bad "dnspersist(1) lacks:$missing"
catxt=$(mandoc -T ascii "$MAN/dnspersist-ca.8" | col -b)
missing=""
for o in $("$CA" --help | grep -oE -- '--[a-z0-9-]+' | sort -u); do
    grep -q -- "$o" <<<"$catxt" || missing="$missing $o"
done
[ -z "$missing" ] && ok "dnspersist-ca.8 names every option" || bad "dnspersist-ca(8) lacks:$missing"
# shellcheck disable=SC1090
. "$COMP"
COMP_WORDS=(dnspersist is); COMP_CWORD=1; _dnspersist
[ "${COMPREPLY[*]}" = issue ] && ok "completion_command" || bad "completion of 'is': ${COMPREPLY[*]}"
COMP_WORDS=(dnspersist check --dir); COMP_CWORD=2; _dnspersist
[ "${COMPREPLY[*]}" = --directory ] && ok "completion_option" || bad "completion of check --dir: ${COMPREPLY[*]}"
COMP_WORDS=(dnspersist account ""); COMP_CWORD=2; _dnspersist
[ "${COMPREPLY[*]}" = "new show key-rollover deactivate" ] && ok "completion_account" || bad "account: ${COMPREPLY[*]}"
# dnspersist-ca's completion: its options come from its own --help.
# shellcheck disable=SC1090
. "${COMP}-ca"
COMP_WORDS=("$CA" --cert-life); COMP_CWORD=1; _dnspersist_ca
[ "${COMPREPLY[*]}" = --cert-lifetime ] && ok "ca_completion_option" || bad "ca completion of --cert-life: ${COMPREPLY[*]}"
COMP_WORDS=("$CA" keys ""); COMP_CWORD=2; _dnspersist_ca
[ "${COMPREPLY[*]}" = "root csr sign import alternate retire check" ] && ok "ca_completion_keys" || bad "ca keys: ${COMPREPLY[*]}"
COMP_WORDS=("$CA" keys csr --na); COMP_CWORD=3; _dnspersist_ca
[ "${COMPREPLY[*]}" = "--name" ] && ok "ca_completion_keys_option" || bad "ca keys csr --na: ${COMPREPLY[*]}"
COMP_WORDS=("$CA" --log-format ""); COMP_CWORD=2; _dnspersist_ca
[ "${COMPREPLY[*]}" = "text json" ] && ok "ca_completion_value" || bad "ca --log-format: ${COMPREPLY[*]}"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
