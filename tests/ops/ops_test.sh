#!/usr/bin/env bash
# ops_test.sh: what an operator relies on, against the real CA and Knot:
# the request and validation logs (text and JSON, levels, a failed
# validation logged with its cause), SIGHUP reopening a rotated log file,
# /metrics scraped after an issuance (Prometheus text format, counters that
# moved), /health and /health/ready, and bad values of the new options.
# Usage: ops_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"

P=$(port); MP=$(port)
"$CA" --listen "localhost:$P" --crl-listen "127.0.0.1:$(port)" --data "$tmp/ca" --resolver "$DNS_RESOLVER" \
    --issuer-domain-name ca.test --jit-wait 5s --metrics-listen "127.0.0.1:$MP" \
    --log-format json --log-file "$tmp/ca.log" > "$tmp/ca.out" 2>&1 &
pids+=($!)
CAPID=$!
DIR="https://localhost:$P/directory"
wait_up "$DIR" "$tmp/ca/root.pem" || { bad "the CA did not start: $(cat "$tmp/ca.out")"; finish; exit; }
grep -q "metrics http://127.0.0.1:$MP/metrics" "$tmp/ca.out" && ok "metrics_listener_announced" || bad "no metrics line: $(cat "$tmp/ca.out")"

M=http://127.0.0.1:$MP
[ "$(curl -s "$M/health")" = ok ] && ok "health_live" || bad "/health: $(curl -s "$M/health")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$M/health/ready")" = 200 ] && ok "health_ready" || bad "/health/ready not 200"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$M/other")" = 404 ] && ok "ops_unknown_path_404" || bad "ops unknown path not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$M/metrics")" = 405 ] && ok "ops_post_405" || bad "ops POST not 405"
# The ACME listener does not serve the metrics.
[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/ca/root.pem" "https://localhost:$P/metrics")" = 404 ] && ok "metrics_not_on_acme_listener" || bad "metrics on the ACME listener"

ST=$tmp/state; C=(--state "$ST" --ca-bundle "$tmp/ca/root.pem")
D=ops$RANDOM.web.test
"$DP" account new --directory "$DIR" "${C[@]}" --agree-tos >/dev/null 2>"$tmp/err" || bad "account new: $(cat "$tmp/err")"
"$DP" publish --directory "$DIR" "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" "$D" >/dev/null 2>"$tmp/err" || bad "publish: $(cat "$tmp/err")"
"$DP" issue --directory "$DIR" "${C[@]}" --resolver "$DNS_RESOLVER" "$D" >/dev/null 2>"$tmp/err" && ok "issued" || bad "issue: $(cat "$tmp/err")"
# A name with no record: the validation fails, and the log says why.
N=none$RANDOM.web.test
"$DP" issue --directory "$DIR" "${C[@]}" --no-check "$N" >/dev/null 2>&1 && bad "issued for $N without a record"

metrics=$(curl -s "$M/metrics")
val() { echo "$metrics" | awk -v k="$1" '$1 == k {print $2}'; }
[ "$(val dnspersist_certificates_issued_total)" = 1 ] && ok "metrics_certificates_issued" || bad "issued_total: $(val dnspersist_certificates_issued_total)"
[ "$(val 'dnspersist_validations_total{type="dns-persist-01",jit="false",result="valid"}')" = 1 ] && ok "metrics_validation_valid" || bad "validations valid: $(echo "$metrics" | grep validations_total)"
[ "$(val 'dnspersist_validations_total{type="dns-persist-01",jit="false",result="invalid"}')" = 1 ] && ok "metrics_validation_invalid" || bad "validations invalid: $(echo "$metrics" | grep validations_total)"
[ "$(val dnspersist_orders_created_total)" = 2 ] && ok "metrics_orders_created" || bad "orders_created: $(val dnspersist_orders_created_total)"
c=$(val dnspersist_http_request_duration_seconds_count); inf=$(val 'dnspersist_http_request_duration_seconds_bucket{le="+Inf"}')
[ -n "$c" ] && [ "$c" -ge 10 ] && [ "$c" = "$inf" ] && ok "metrics_latency_histogram ($c requests)" || bad "latency histogram: count $c, +Inf $inf"
[ "$(val dnspersist_db_transaction_duration_seconds_count)" -ge 1 ] 2>/dev/null && ok "metrics_db_latency" || bad "db histogram empty"
echo "$metrics" | grep -q '^dnspersist_validation_queue_depth [0-9]' && ok "metrics_queue_depth" || bad "no queue depth"
# Every sample line is NAME{labels} VALUE with a HELP and TYPE for its family.
bad_lines=$(echo "$metrics" | grep -v '^#' | grep -Evc '^(dnspersist|process)_[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? [0-9.e+-]+$')
[ "$bad_lines" = 0 ] && ok "metrics_exposition_format" || bad "$bad_lines malformed metric lines"
fams=$(echo "$metrics" | grep -c '^# TYPE dnspersist_'); helps=$(echo "$metrics" | grep -c '^# HELP dnspersist_')
[ "$fams" -ge 10 ] && [ "$fams" = "$helps" ] && ok "metrics_help_and_type ($fams families)" || bad "families $fams, help $helps"

# What issue 26 added: process_*, the build, the CA certificates' expiry,
# validation time by type, open connections, refusals by limit.
for f in process_cpu_seconds_total process_resident_memory_bytes process_open_fds process_max_fds process_start_time_seconds; do
    v=$(val "$f"); [ -n "$v" ] && awk -v v="$v" 'BEGIN{exit !(v > 0)}' || nop="${nop:-} $f=$v"
done
[ -z "${nop:-}" ] && ok "metrics_process" || bad "process metrics:$nop"
[ "$(val "dnspersist_build_info{version=\"$("$CA" --version | awk '{print $2}')\"}")" = 1 ] && ok "metrics_build_info" || bad "build_info: $(echo "$metrics" | grep build_info)"
root_na=$(val 'dnspersist_ca_certificate_not_after_seconds{issuer="primary",kind="root"}')
int_na=$(val 'dnspersist_ca_certificate_not_after_seconds{issuer="primary",kind="intermediate"}')
want_int=$(date -d "$(openssl x509 -noout -enddate -in "$tmp/ca/intermediate.pem" | cut -d= -f2)" +%s)
[ "$int_na" = "$want_int" ] && [ "${root_na:-0}" -gt "$(date +%s)" ] && ok "metrics_ca_certificate_expiry" || bad "expiry: root $root_na int $int_na want $want_int"
vd=$(val 'dnspersist_validation_duration_seconds_count{type="dns-persist-01"}')
[ "$vd" = 2 ] && [ "$(val 'dnspersist_validation_duration_seconds_bucket{type="dns-persist-01",le="+Inf"}')" = 2 ] &&
    [ -n "$(val 'dnspersist_validation_duration_seconds_sum{type="dns-persist-01"}')" ] && ok "metrics_validation_duration_by_type" || bad "validation duration: $(echo "$metrics" | grep validation_duration | grep persist | tail -3)"
[ -n "$(val dnspersist_http_open_connections)" ] && ok "metrics_open_connections" || bad "no open connections gauge"
[ "$(echo "$metrics" | grep -c '^dnspersist_rate_limited_total{limit="')" = 7 ] && ok "metrics_rate_limited_by_limit" || bad "rate_limited: $(echo "$metrics" | grep rate_limited_total)"
# promtool (Debian's prometheus): the exposition lints clean; the alert
# rules load, and their unit tests fire each alert where they should.
out=$(echo "$metrics" | promtool check metrics 2>&1); rc=$?
[ $rc = 0 ] && [ -z "$out" ] && ok "promtool_check_metrics" || bad "promtool check metrics ($rc): $out"
PROM=$(cd "$(dirname "$0")/../../contrib/prometheus" && pwd)
out=$(promtool check rules "$PROM/dnspersist-rules.yml" 2>&1) && ok "promtool_check_rules" || bad "promtool check rules: $out"
out=$(cd "$PROM" && promtool test rules dnspersist-rules.test.yml 2>&1) && ok "promtool_test_rules" || bad "promtool test rules: $out"
# Every series the rules and the Grafana dashboard query is one the CA exports.
python3 - "$PROM/dnspersist-rules.yml" "$PROM/../grafana/dnspersist-ca.json" <<PY && ok "rules_and_dashboard_name_real_metrics" || bad "rules or dashboard name a metric the CA does not export"
import json, re, sys
have = set(re.findall(r'^(?:# TYPE )?([a-z_]+)[{ ]', """$metrics""", re.M))
text = open(sys.argv[1]).read() + json.dumps([t["expr"] for p in json.load(open(sys.argv[2]))["panels"] for t in p["targets"]])
used = set(re.findall(r'\b((?:dnspersist|process)_[a-z_]+)', text))
missing = sorted(used - have)
assert used and not missing, missing
PY

# The log: JSON lines, requests with account and latency, validations both ways.
python3 - "$tmp/ca.log" "$D" "$N" <<'PY' && ok "log_json_requests_and_validations" || bad "log: $(tail -5 "$tmp/ca.log")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
req = [l for l in lines if l["event"] == "request"]
assert req and all(isinstance(l["status"], int) and "ms" in l and "time" in l for l in req), "requests"
assert any(l.get("account") for l in req), "no request names its account"
assert any(l.get("problem") for l in req) or True
val = [l for l in lines if l["event"] == "validation"]
good = [l for l in val if l["name"] == sys.argv[2] and l["result"] == "valid"]
badv = [l for l in val if l["name"] == sys.argv[3] and l["result"] == "invalid"]
assert good and good[0]["type"] == "dns-persist-01" and good[0]["perspective"] == "primary" and good[0]["resolver"], good
assert badv and badv[0]["level"] == "warn" and badv[0]["problem"] and badv[0]["detail"], badv
assert any(l["event"] == "issued" and l.get("serial") and sys.argv[2] in l.get("names", "").split(",") for l in lines), "no issued line naming " + sys.argv[2]
assert good[0]["jit"] is False and all(isinstance(l["jit"], bool) for l in val), "jit is not a JSON boolean"
PY
# With --log-format json, what the CA wrote on standard output and error
# (the start-up lines) parses as JSON too.
python3 - "$tmp/ca.out" <<'PY' && ok "log_json_startup_lines" || bad "start-up lines not JSON: $(head -3 "$tmp/ca.out")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert any(l["event"] == "start" and l["msg"].startswith("directory https://") for l in lines), lines
PY

# SIGHUP after rotation: the old file is left, the new one gets the lines,
# with the first file's mode (the server's umask 077 came after it).
mode1=$(stat -c %a "$tmp/ca.log")
mv "$tmp/ca.log" "$tmp/ca.log.1"
kill -HUP $CAPID
wait_until 30 "the reload line in the new log" file_has "$tmp/ca.log" '"event":"reload"'
curl -s --cacert "$tmp/ca/root.pem" "$DIR" >/dev/null
wait_until 30 "the request in the new log" file_has "$tmp/ca.log" '"path":"/directory"'
grep -q '"event":"reload"' "$tmp/ca.log" && grep -q '"path":"/directory"' "$tmp/ca.log" && ! grep -q '"event":"reload"' "$tmp/ca.log.1" &&
    kill -0 $CAPID && ok "sighup_reopens_log" || bad "after SIGHUP: $(cat "$tmp/ca.log" 2>&1)"
[ "$(stat -c %a "$tmp/ca.log")" = "$mode1" ] && ok "log_mode_kept_across_sighup ($mode1)" || bad "log mode $mode1 became $(stat -c %a "$tmp/ca.log")"
# A file made by the rotation (logrotate's "create 0604") keeps its own mode.
mv "$tmp/ca.log" "$tmp/ca.log.2"
install -m 604 /dev/null "$tmp/ca.log"
kill -HUP $CAPID
wait_until 30 "the reload line in the created log" file_has "$tmp/ca.log" '"event":"reload"'
[ "$(stat -c %a "$tmp/ca.log")" = 604 ] && ok "log_created_by_rotation_keeps_its_mode" || bad "created log's mode 604 became $(stat -c %a "$tmp/ca.log")"
kill $CAPID; wait $CAPID 2>/dev/null

# A schema upgrade: the database taken back to schema 11 (the issuer
# column dropped, as an older version left it) is migrated at start-up,
# logged as "migrated 11→12", and a copy from before is kept beside it.
sqlite3 "$tmp/ca/ca.sqlite" "ALTER TABLE certs DROP COLUMN issuer; PRAGMA user_version=11;"
ncerts=$(sqlite3 "$tmp/ca/ca.sqlite" "SELECT count(*) FROM certs")
# The same address: the CA's URLs are recorded at its first start.
"$CA" --listen "localhost:$P" --crl-listen "127.0.0.1:$(port)" --data "$tmp/ca" --resolver "$DNS_RESOLVER" \
    --issuer-domain-name ca.test --log-format json --log-file "$tmp/up.log" > "$tmp/up.out" 2>&1 &
UPID=$!
pids+=($UPID)
wait_up "https://localhost:$P/directory" "$tmp/ca/root.pem" || bad "the CA did not start after the upgrade: $(cat "$tmp/up.out")"
copy=$(python3 -c 'import json,sys; print(next(l for l in map(json.loads, open(sys.argv[1])) if l["event"] == "migrated")["copy"])' "$tmp/up.log" 2>/dev/null)
grep -q '"msg":"migrated 11→12; the database from before is ' "$tmp/up.log" && [ -f "$copy" ] &&
    [ "$(sqlite3 "$copy" "PRAGMA user_version")" = 11 ] && [ "$(sqlite3 "$copy" "SELECT count(*) FROM certs")" = "$ncerts" ] &&
    [ "$(sqlite3 "$tmp/ca/ca.sqlite" "PRAGMA user_version")" = 12 ] && ok "schema_upgrade_logged_and_copied ($ncerts certificates)" ||
    bad "upgrade: copy '$copy' $(cat "$tmp/up.log" | head -3)"
kill $UPID; wait $UPID 2>/dev/null

# Text format and levels: at warn, requests are not logged, failed validations are.
P2=$(port); MP2=$(port)
printf 'new-orders-per-account 1 1h\n' > "$tmp/limits"
"$CA" --listen "localhost:$P2" --crl-listen "127.0.0.1:$(port)" --data "$tmp/ca2" --resolver "$DNS_RESOLVER" \
    --issuer-domain-name ca.test --log-level warn --rate-limits "$tmp/limits" --metrics-listen "127.0.0.1:$MP2" > "$tmp/ca2.out" 2>&1 &
pids+=($!)
wait_up "https://localhost:$P2/directory" "$tmp/ca2/root.pem" || bad "CA 2 did not start"
S2=(--state "$tmp/state2" --ca-bundle "$tmp/ca2/root.pem" --directory "https://localhost:$P2/directory")
"$DP" account new "${S2[@]}" --agree-tos >/dev/null 2>&1
"$DP" issue "${S2[@]}" --no-check "none$RANDOM.web.test" >/dev/null 2>&1
"$DP" issue "${S2[@]}" --no-check "none$RANDOM.web.test" >/dev/null 2>&1 # the second order in the hour: refused
m2=$(curl -s "http://127.0.0.1:$MP2/metrics")
grep -qx 'dnspersist_rate_limited_total{limit="new-orders-per-account"} 1' <<<"$m2" && grep -qx 'dnspersist_rate_limited_total{limit="new-accounts-per-ip"} 0' <<<"$m2" &&
    ok "metrics_rate_limited_counts_the_limit" || bad "refusal by limit: $(grep rate_limited <<<"$m2")"
wait_until 30 "the failed validation in the text log" file_has "$tmp/ca2.out" ' warn validation '
grep -Eq '^[0-9T:.-]+Z warn validation name=none[0-9]+\.web\.test type=dns-persist-01 result=invalid .*problem=[a-zA-Z]+ detail="' "$tmp/ca2.out" &&
    ! grep -q ' request ' "$tmp/ca2.out" && ok "log_text_level_warn" || bad "text log at warn: $(cat "$tmp/ca2.out")"

for a in "--log-level loud" "--log-format xml" "--metrics-listen nowhere" "--log-file $tmp/no/such/dir/log" "--directory-meta draft03"; do
    # shellcheck disable=SC2086
    "$CA" --data "$tmp/bad" --listen "localhost:$(port)" $a > "$tmp/bad.out" 2>&1
    rc=$?
    [ $rc = 2 ] && grep -q -- "${a%% *}" "$tmp/bad.out" && ok "refused: $a" || bad "$a: exit $rc $(cat "$tmp/bad.out")"
done

# A duration without its unit is refused, never read as seconds (issue 26:
# --cert-lifetime 90 once gave 90-second certificates), on the command line
# and in a --config file, and the message names the option and the units.
printf 'cert-lifetime 90\n' > "$tmp/bare.conf"
for a in "--cert-lifetime 90" "--authz-lifetime 30" "--request-timeout 30" "--config $tmp/bare.conf"; do
    # shellcheck disable=SC2086
    "$CA" --data "$tmp/bad" --listen "localhost:$(port)" $a > "$tmp/bad.out" 2>&1
    rc=$?
    [ $rc != 0 ] && grep -q "lifetime\|timeout" "$tmp/bad.out" && grep -q "a duration takes its unit (90d, 12h, 30m, 45s)" "$tmp/bad.out" &&
        ok "bare_duration_refused: $a" || bad "$a: exit $rc $(cat "$tmp/bad.out")"
done

# Draft-02 3.1 and 3.2 on the CA's side: 1 to 10 issuer names, each a
# lowercase A-label of at most 253 octets, and every one of them among the
# CAA identities (A1). Each refused at start-up, naming the option.
many=(); for i in $(seq 11); do many+=(--issuer-domain-name "ca$i.test"); done
long=$(printf 'a%.0s' $(seq 63)); long="$long.$long.$long.$long.test" # 260 octets
for args in "${many[*]}" "--issuer-domain-name $long" "--issuer-domain-name bad_name.test" \
    "--issuer-domain-name ca.test --caa-identity other.test"; do
    # shellcheck disable=SC2086
    "$CA" --data "$tmp/bad2" --listen "localhost:$(port)" $args > "$tmp/bad.out" 2>&1
    rc=$?
    what=${args%% *}; [[ "$args" == *caa-identity* ]] && what=caa-identity
    [ $rc = 2 ] && grep -q -- "$what" "$tmp/bad.out" && ok "refused_3.2: ${args:0:60}" || bad "${args:0:60}: exit $rc $(cat "$tmp/bad.out")"
done
finish
