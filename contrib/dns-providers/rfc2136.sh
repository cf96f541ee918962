#!/bin/sh
# rfc2136.sh: a worked example of `dnspersist publish --provider exec:PROGRAM`
# (lego's exec protocol): called as  rfc2136.sh present|cleanup FQDN VALUE
# it adds or removes one TXT record with knsupdate (Knot's nsupdate). Copy it
# and replace the knsupdate call with your DNS API's (curl to Cloudflare,
# `aws route53 change-resource-record-sets`, ...): the protocol stays.
#   DNS_SERVER  the primary taking updates (default 127.0.0.1)
#   DNS_PORT    its port (default 53)
#   DNS_ZONE    the zone (default: FQDN less its first two labels)
#   DNS_TSIG    the TSIG key as ALG:NAME:SECRET
# Exit status 0 only once the server has accepted the update.
set -eu
action=$1 fqdn=$2 value=$3
zone=${DNS_ZONE:-$(printf '%s' "$fqdn" | cut -d. -f3-)}
# A TXT string holds 255 octets: longer values go as several strings (R2).
quoted=$(printf '%s' "$value" | fold -w 255 | sed 's/.*/"&"/' | tr '\n' ' ')
case $action in
present) op="update add $fqdn 300 TXT $quoted" ;;
cleanup) op="update delete $fqdn TXT $quoted" ;;
*) echo "rfc2136.sh: unknown action '$action' (present or cleanup)" >&2; exit 2 ;;
esac
printf 'server %s %s\nzone %s\n%s\nsend\n' "${DNS_SERVER:-127.0.0.1}" "${DNS_PORT:-53}" "$zone" "$op" |
    knsupdate -y "${DNS_TSIG:?DNS_TSIG=ALG:NAME:SECRET}"
