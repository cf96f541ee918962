/*
 * record.c: parse and format the _validation-persist TXT value.
 *
 * The grammar is RFC 8659 section 4.2 issue-value, applied strictly (R3):
 *   issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
 *   parameters  = (parameter *WSP ";" *WSP parameters) / parameter
 *   parameter   = tag *WSP "=" *WSP value
 *   label, tag  = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))
 *   value       = *(%x21-3A / %x3C-7E)
 * The one tolerance is a single trailing dot on the issuer name, which V2
 * (as Boulder does) strips before comparing.
 *
 * Invariants of the parser:
 *   1. pos only moves forward, so parsing is linear in the value's length
 *      (plus the bounded duplicate-tag check).
 *   2. Every failure names the rule and the octet offset where it stopped.
 *   3. Nothing is allocated; spans point into the caller's buffer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int dp__span_ieq(const char *p, size_t len, const char *word)
{
    size_t i = 0;
    for (; i < len; i++)
        if (word[i] == '\0' || dp__lower((unsigned char)p[i]) != dp__lower((unsigned char)word[i]))
            return 0;
    return word[i] == '\0';
}

struct cursor {
    const char *s;
    size_t len;
    size_t pos;
};

static void skip_wsp(struct cursor *c)
{
    while (c->pos < c->len && dp__is_wsp((unsigned char)c->s[c->pos]))
        c->pos++;
}

/* Describes the octet at pos for an error message. */
static const char *describe(const struct cursor *c, char buf[16])
{
    if (c->pos >= c->len) return "end of value";
    unsigned char ch = (unsigned char)c->s[c->pos];
    if (ch == ' ') return "a space";
    if (ch == '\t') return "a tab";
    if (ch < 0x20 || ch > 0x7e) {
        static const char hex[] = "0123456789ABCDEF";
        memcpy(buf, "octet 0x", 8);
        buf[8] = hex[ch >> 4];
        buf[9] = hex[ch & 15];
        buf[10] = '\0';
        return buf;
    }
    buf[0] = '\'';
    buf[1] = (char)ch;
    buf[2] = '\'';
    buf[3] = '\0';
    return buf;
}

/* Reads label or tag: (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)).
 * Returns 1 and advances past it, or 0 with pos at the offending octet. */
static int read_ldh(struct cursor *c)
{
    if (c->pos >= c->len || !dp__is_alnum((unsigned char)c->s[c->pos])) return 0;
    size_t p = c->pos + 1;
    while (p < c->len && (dp__is_alnum((unsigned char)c->s[p]) || c->s[p] == '-'))
        p++;
    if (c->s[p - 1] == '-') {
        /* Back up to the first hyphen of the trailing run for the report. */
        while (c->s[p - 1] == '-')
            p--;
        c->pos = p;
        return 0;
    }
    c->pos = p;
    return 1;
}

static dp_code parse_issuer(struct cursor *c, struct dp_record *rec, struct dp_error *err)
{
    char db[16];
    rec->issuer_offset = c->pos;
    for (;;) {
        size_t label_start = c->pos;
        if (!read_ldh(c)) {
            if (c->pos == label_start)
                return dp__fail(
                    err, DP_ERR_MALFORMED, "R3", c->pos,
                    "issuer-domain-name: empty label or bad character (%s) at octet %zu",
                    describe(c, db), c->pos);
            return dp__fail(err, DP_ERR_MALFORMED, "R3", c->pos,
                            "issuer-domain-name: a label may not end with '-' (octet %zu)", c->pos);
        }
        if (c->pos < c->len && c->s[c->pos] == '.') {
            size_t next = c->pos + 1;
            if (next < c->len && dp__is_alnum((unsigned char)c->s[next])) {
                c->pos = next;
                continue;
            }
            /* One trailing dot is tolerated (V2); "a..b" is not. */
            if (next < c->len && c->s[next] == '.') {
                c->pos = next;
                return dp__fail(err, DP_ERR_MALFORMED, "R3", c->pos,
                                "issuer-domain-name: empty label at octet %zu", c->pos);
            }
            c->pos = next;
        }
        break;
    }
    rec->issuer.ptr = c->s + rec->issuer_offset;
    rec->issuer.len = c->pos - rec->issuer_offset;
    return DP_OK;
}

/* Base-10 integer with an optional '-' (persistUntil=-1 is a valid, expired
 * timestamp in the Boulder suite). Overflow is malformed, not clamped. */
static int parse_int64(const char *p, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (len > 0 && p[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len) return 0;
    uint64_t v = 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (limit - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return 1;
}

static dp_code apply_param(struct dp_record *rec, const struct dp_param *pm, struct dp_error *err)
{
    for (size_t i = 0; i + 1 < rec->n_params; i++) {
        const struct dp_param *o = &rec->params[i];
        if (o->tag.len == pm->tag.len) {
            size_t k = 0;
            while (k < o->tag.len && dp__lower((unsigned char)o->tag.ptr[k]) ==
                                         dp__lower((unsigned char)pm->tag.ptr[k]))
                k++;
            if (k == o->tag.len)
                return dp__fail(err, DP_ERR_MALFORMED, "R4", pm->tag_offset,
                                "duplicate parameter '%.*s' at octet %zu (first at octet %zu)",
                                (int)pm->tag.len, pm->tag.ptr, pm->tag_offset, o->tag_offset);
        }
    }
    if (dp__span_ieq(pm->tag.ptr, pm->tag.len, "accounturi")) {
        if (pm->value.len == 0)
            return dp__fail(err, DP_ERR_MALFORMED, "R4", pm->value_offset,
                            "accounturi is empty (octet %zu)", pm->value_offset);
        rec->has_accounturi = 1;
        rec->accounturi = pm->value;
    } else if (dp__span_ieq(pm->tag.ptr, pm->tag.len, "policy")) {
        rec->has_policy = 1;
        rec->policy = pm->value;
        rec->wildcard = dp__span_ieq(pm->value.ptr, pm->value.len, "wildcard");
    } else if (dp__span_ieq(pm->tag.ptr, pm->tag.len, "persistUntil")) {
        if (!parse_int64(pm->value.ptr, pm->value.len, &rec->persist_until))
            return dp__fail(err, DP_ERR_MALFORMED, "R4", pm->value_offset,
                            "persistUntil '%.*s' is not a base-10 integer of at most 64 bits "
                            "(octet %zu)",
                            (int)(pm->value.len > 40 ? 40 : pm->value.len), pm->value.ptr,
                            pm->value_offset);
        rec->has_persist_until = 1;
    }
    return DP_OK;
}

static dp_code parse_params(struct cursor *c, struct dp_record *rec, int meaning,
                            struct dp_error *err)
{
    char db[16];
    for (;;) {
        struct dp_param pm;
        pm.tag_offset = c->pos;
        if (!read_ldh(c)) {
            if (c->pos != pm.tag_offset)
                return dp__fail(err, DP_ERR_MALFORMED, "R3", c->pos,
                                "tag may not end with '-' (octet %zu)", c->pos);
            if (c->pos < c->len && c->s[c->pos] == '=')
                return dp__fail(err, DP_ERR_MALFORMED, "R3", c->pos,
                                "empty tag before '=' at octet %zu", c->pos);
            if (c->pos < c->len && c->s[c->pos] == ';')
                return dp__fail(err, DP_ERR_MALFORMED, "R3", c->pos,
                                "empty parameter (';' at octet %zu)", c->pos);
            return dp__fail(err, DP_ERR_MALFORMED, "R3", c->pos,
                            "expected a tag, found %s at octet %zu", describe(c, db), c->pos);
        }
        pm.tag.ptr = c->s + pm.tag_offset;
        pm.tag.len = c->pos - pm.tag_offset;
        skip_wsp(c);
        if (c->pos >= c->len || c->s[c->pos] != '=')
            return dp__fail(err, DP_ERR_MALFORMED, "R3", c->pos,
                            "parameter '%.*s' has no '=' (found %s at octet %zu)", (int)pm.tag.len,
                            pm.tag.ptr, describe(c, db), c->pos);
        c->pos++;
        skip_wsp(c);
        pm.value_offset = c->pos;
        while (c->pos < c->len && dp__is_value_char((unsigned char)c->s[c->pos]))
            c->pos++;
        pm.value.ptr = c->s + pm.value_offset;
        pm.value.len = c->pos - pm.value_offset;

        if (rec->n_params == DP_RECORD_MAX_PARAMS)
            return dp__fail(err, DP_ERR_MALFORMED, "R3", pm.tag_offset, "more than %d parameters",
                            DP_RECORD_MAX_PARAMS);
        rec->params[rec->n_params++] = pm;

        /* Grammar first (R3), then meaning (R4), so an error names the first octet at fault. */
        size_t after_value = c->pos;
        skip_wsp(c);
        if (c->pos < c->len && c->s[c->pos] != ';') {
            if (c->pos > after_value)
                return dp__fail(err, DP_ERR_MALFORMED, "R3", after_value,
                                "value of '%.*s' contains a blank at octet %zu", (int)pm.tag.len,
                                pm.tag.ptr, after_value);
            return dp__fail(err, DP_ERR_MALFORMED, "R3", c->pos,
                            "value of '%.*s' contains %s at octet %zu (only %%x21-3A / %%x3C-7E)",
                            (int)pm.tag.len, pm.tag.ptr, describe(c, db), c->pos);
        }
        dp_code rc = meaning ? apply_param(rec, &pm, err) : DP_OK;
        if (rc != DP_OK) return rc;
        if (c->pos == c->len) return DP_OK;
        size_t semi = c->pos++;
        skip_wsp(c);
        if (c->pos == c->len)
            return dp__fail(err, DP_ERR_MALFORMED, "R3", semi,
                            "trailing ';' after the last parameter (octet %zu)", semi);
    }
}

/* The grammar (R3) and, when meaning, the parameters' rules (R4). */
static dp_code parse(const char *value, size_t len, struct dp_record *rec, int meaning,
                     struct dp_error *err)
{
    char db[16];
    if (!rec || (!value && len))
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    /* Only the header: params[] is filled as parsed, n_params says how far. */
    memset(rec, 0, offsetof(struct dp_record, params));
    dp_error_clear(err);
    struct cursor c = {value, len, 0};

    skip_wsp(&c);
    if (c.pos < c.len && dp__is_alnum((unsigned char)c.s[c.pos])) {
        dp_code rc = parse_issuer(&c, rec, err);
        if (rc != DP_OK) return rc;
        skip_wsp(&c);
    }
    if (c.pos < c.len) {
        if (c.s[c.pos] != ';')
            return dp__fail(err, DP_ERR_MALFORMED, "R3", c.pos,
                            "expected ';' after the issuer-domain-name, found %s at octet %zu",
                            describe(&c, db), c.pos);
        c.pos++;
        skip_wsp(&c);
        if (c.pos < c.len) {
            dp_code rc = parse_params(&c, rec, meaning, err);
            if (rc != DP_OK) return rc;
        }
    }
    if (meaning && !rec->has_accounturi)
        return dp__fail(err, DP_ERR_MALFORMED, "R4", len, "missing mandatory accounturi parameter");
    return DP_OK;
}

dp_code dp_record_parse(const char *value, size_t len, struct dp_record *rec, struct dp_error *err)
{
    return parse(value, len, rec, 1, err);
}

dp_code dp_record_parse_issue_value(const char *value, size_t len, struct dp_record *rec,
                                    struct dp_error *err)
{
    return parse(value, len, rec, 0, err);
}

struct dp_span dp_record_issuer_token(const char *value, size_t len)
{
    size_t p = 0;
    while (p < len && dp__is_wsp((unsigned char)value[p]))
        p++;
    size_t start = p;
    while (p < len && !dp__is_wsp((unsigned char)value[p]) && value[p] != ';')
        p++;
    struct dp_span s = {value + start, p - start};
    return s;
}

int dp_record_issuer_matches(struct dp_span token, const char *issuer)
{
    size_t n = token.len;
    if (n > 0 && token.ptr[n - 1] == '.') n--;
    if (n == 0) return 0;
    return dp__span_ieq(token.ptr, n, issuer);
}

/* A normalized issuer: LDH labels, lowercase, no trailing dot, <= 253 octets. */
static int issuer_is_normalized(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 253) return 0;
    struct cursor c = {s, len, 0};
    for (;;) {
        size_t start = c.pos;
        if (!read_ldh(&c) || c.pos - start > 63) return 0;
        if (c.pos == len) break;
        if (s[c.pos] != '.') return 0;
        c.pos++;
    }
    for (size_t i = 0; i < len; i++)
        if (s[i] >= 'A' && s[i] <= 'Z') return 0;
    return 1;
}

dp_code dp_record_format(const struct dp_record_spec *spec, char *buf, size_t cap, size_t *outlen,
                         struct dp_error *err)
{
    dp_error_clear(err);
    if (!spec || !spec->issuer || !spec->accounturi || (!buf && cap))
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    if (!issuer_is_normalized(spec->issuer))
        return dp__fail(err, DP_ERR_INVAL, "R3", DP_NO_OFFSET,
                        "issuer '%s' is not a lowercase A-label domain name without trailing dot",
                        spec->issuer);
    size_t ulen = strlen(spec->accounturi);
    if (ulen == 0) return dp__fail(err, DP_ERR_INVAL, "R4", DP_NO_OFFSET, "accounturi is empty");
    for (size_t i = 0; i < ulen; i++)
        if (!dp__is_value_char((unsigned char)spec->accounturi[i]))
            return dp__fail(err, DP_ERR_INVAL, "R3", i,
                            "accounturi octet %zu is not allowed in a record value "
                            "(blank, ';', control or non-ASCII)",
                            i);
    char until[48] = "";
    if (spec->has_persist_until)
        snprintf(until, sizeof until, "; persistUntil=%" PRId64, spec->persist_until);
    const char *policy = spec->wildcard ? "; policy=wildcard" : "";
    int n =
        snprintf(buf, cap, "%s; accounturi=%s%s%s", spec->issuer, spec->accounturi, policy, until);
    if (n < 0) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "format failed");
    if (outlen) *outlen = (size_t)n;
    if ((size_t)n >= cap)
        return dp__fail(err, DP_ERR_TOOBIG, NULL, DP_NO_OFFSET, "buffer of %zu octets too small",
                        cap);
    if ((size_t)n > DP_TXT_VALUE_MAX)
        return dp__fail(err, DP_ERR_TOOBIG, "R2", DP_NO_OFFSET, "value exceeds 65535 octets");
    return DP_OK;
}

char *dp_record_format_alloc(const struct dp_record_spec *spec, struct dp_error *err)
{
    size_t need = 0;
    dp_code rc = dp_record_format(spec, NULL, 0, &need, err);
    if (rc != DP_ERR_TOOBIG || need > DP_TXT_VALUE_MAX) return NULL;
    char *buf = malloc(need + 1);
    if (!buf) {
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        return NULL;
    }
    if (dp_record_format(spec, buf, need + 1, NULL, err) != DP_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}
