/*
 * verify.c: the CA's verification procedure (draft 4.2 and 4.3.2).
 *
 * For one evaluation:
 *   1. V5: a deactivated account is unauthorized before anything is read.
 *   2. V2: records whose issuer token does not name one of the challenge's
 *      issuers are skipped, even malformed ones.
 *   3. V3 for each remaining record, stopping at the first failure:
 *      R3/R4 parse -> H4 accounturi (malformed, then match) -> S1-S3 scope
 *      -> persistUntil.
 *   4. V4: first valid record wins; else first malformed; else first
 *      unauthorized reason; else "no record for this issuer".
 *
 * Digests are computed lazily and memoized, so a record that matches the
 * current key's FQDN form costs one hash, and no evaluation ever computes
 * more than 2 x keys x algorithms hashes however many records there are.
 * The "*" digests do not depend on the domain and survive across
 * evaluations; the FQDN ones are tagged with an evaluation generation.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "ctx_int.h"
#include "hashuri_int.h"

#define N_ALGS 3

/* Digests are kept and compared raw: the record's base64url is decoded once
 * instead of encoding every candidate. */
struct slot {
    unsigned gen; /* 0: never computed */
    unsigned len;
    unsigned char dg[DP_HASH_MAX_OCTETS];
};

struct dp_verifier {
    const struct dp_ctx *ctx;
    enum dp_mode mode;
    unsigned accepted;
    char issuers[DP_MAX_ISSUERS][DP_DOMAIN_MAX + 1];
    size_t n_issuers;
    char *account_url;
    size_t url_len;
    char *prefix;
    size_t prefix_len;
    char **old_prefixes; /* previous_prefixes, copied */
    size_t n_old;
    char (*thumbs)[DP_THUMBPRINT_BUF];
    EVP_MD *md[N_ALGS]; /* fetched once: EVP_sha256() would re-fetch on every init */
    size_t n_thumbs;
    EVP_MD_CTX *mctx[N_ALGS]; /* one per algorithm, initialized once, re-initialized cheaply */
    struct slot *star;        /* [alg][key] */
    struct slot *fqdn;        /* [alg][key], valid when gen == eval_gen */
    unsigned eval_gen;
    char *joined; /* DP_TXT_VALUE_MAX + 1 octets */
};

static int alg_index(dp_hash_alg a)
{
    return a == DP_HASH_SHA256 ? 0 : a == DP_HASH_SHA384 ? 1 : 2;
}

void dp_verify_free(struct dp_verifier *v)
{
    if (!v) return;
    free(v->account_url);
    free(v->prefix);
    for (size_t i = 0; i < v->n_old; i++)
        free(v->old_prefixes[i]);
    free(v->old_prefixes);
    free(v->thumbs);
    free(v->star);
    free(v->fqdn);
    free(v->joined);
    for (int i = 0; i < N_ALGS; i++)
        EVP_MD_free(v->md[i]);
    for (int i = 0; i < N_ALGS; i++)
        EVP_MD_CTX_free(v->mctx[i]);
    free(v);
}

struct dp_verifier *dp_verify_new(const struct dp_ctx *ctx, const struct dp_verify_params *p,
                                  struct dp_error *err)
{
    dp_error_clear(err);
    if (!ctx || !p || !p->account_url || (p->n_issuers && !p->issuers) ||
        (p->n_thumbprints && !p->thumbprints)) {
        dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
        return NULL;
    }
    if (p->n_issuers == 0 || p->n_issuers > DP_MAX_ISSUERS) {
        dp__fail(err, DP_ERR_INVAL, "A4", DP_NO_OFFSET,
                 "%zu issuer domain names; a challenge carries 1 to %d", p->n_issuers,
                 DP_MAX_ISSUERS);
        return NULL;
    }
    if (p->mode != DP_MODE_DRAFT01 && p->n_thumbprints == 0) {
        dp__fail(err, DP_ERR_INVAL, "H4", DP_NO_OFFSET,
                 "draft-02 needs at least one key thumbprint");
        return NULL;
    }
    if (p->n_thumbprints > DP_MAX_THUMBPRINTS) {
        dp__fail(err, DP_ERR_INVAL, "H4", DP_NO_OFFSET, "more than %d key thumbprints",
                 DP_MAX_THUMBPRINTS);
        return NULL;
    }
    unsigned accepted = p->accepted_algs ? p->accepted_algs : DP_HASH_DEFAULT_ACCEPTED;
    if (!(accepted & DP_HASH_SHA256) || (accepted & ~(unsigned)DP_HASH_ALL)) {
        dp__fail(err, DP_ERR_INVAL, "H1", DP_NO_OFFSET,
                 "the accepted hash algorithms must include sha-256 and only SHA-2 names");
        return NULL;
    }
    if (p->mode != DP_MODE_DRAFT01 && !dp__account_url_valid(p->hash_prefix)) {
        dp__fail(err, DP_ERR_INVAL, "H1", DP_NO_OFFSET,
                 "hash prefix missing or has a blank, ';', control or non-ASCII octet");
        return NULL;
    }
    if (p->n_previous_prefixes > DP_MAX_ISSUERS ||
        (p->n_previous_prefixes && !p->previous_prefixes)) {
        dp__fail(err, DP_ERR_INVAL, "H1", DP_NO_OFFSET, "at most %d previous hash prefixes",
                 DP_MAX_ISSUERS);
        return NULL;
    }
    for (size_t i = 0; i < p->n_previous_prefixes; i++)
        if (!dp__account_url_valid(p->previous_prefixes[i])) {
            dp__fail(err, DP_ERR_INVAL, "H1", DP_NO_OFFSET,
                     "previous hash prefix %zu is empty or has a blank, ';', control or "
                     "non-ASCII octet",
                     i);
            return NULL;
        }
    if (!dp__account_url_valid(p->account_url)) {
        dp__fail(err, DP_ERR_INVAL, "H2", DP_NO_OFFSET,
                 "account URL is empty or has a blank, ';', control or non-ASCII octet");
        return NULL;
    }
    struct dp_verifier *v = calloc(1, sizeof *v);
    if (!v) goto nomem;
    v->ctx = ctx;
    v->mode = p->mode;
    v->accepted = accepted;
    for (size_t i = 0; i < p->n_issuers; i++) {
        struct dp_error e;
        if (!p->issuers[i] || dp_domain_normalize(p->issuers[i], v->issuers[i], 0, &e) != DP_OK) {
            dp__fail(err, DP_ERR_INVAL, "A1", DP_NO_OFFSET, "issuer domain name %zu: %s", i,
                     p->issuers[i] ? e.detail : "NULL");
            dp_verify_free(v);
            return NULL;
        }
    }
    v->n_issuers = p->n_issuers;
    v->account_url = strdup(p->account_url);
    v->url_len = strlen(p->account_url);
    v->prefix = strdup(p->mode == DP_MODE_DRAFT01 ? "" : p->hash_prefix);
    v->n_thumbs = p->n_thumbprints;
    v->thumbs = calloc(v->n_thumbs ? v->n_thumbs : 1, sizeof *v->thumbs);
    v->star = calloc(N_ALGS * (v->n_thumbs ? v->n_thumbs : 1), sizeof *v->star);
    v->fqdn = calloc(N_ALGS * (v->n_thumbs ? v->n_thumbs : 1), sizeof *v->fqdn);
    v->joined = malloc(DP_TXT_VALUE_MAX + 1);
    if (!v->account_url || !v->prefix || !v->thumbs || !v->star || !v->fqdn || !v->joined)
        goto nomem;
    v->prefix_len = strlen(v->prefix);
    if (p->mode != DP_MODE_DRAFT01 && p->n_previous_prefixes) {
        if (!(v->old_prefixes = calloc(p->n_previous_prefixes, sizeof *v->old_prefixes)))
            goto nomem;
        for (; v->n_old < p->n_previous_prefixes; v->n_old++)
            if (!(v->old_prefixes[v->n_old] = strdup(p->previous_prefixes[v->n_old]))) goto nomem;
    }
    static const char *const md_names[N_ALGS] = {"SHA2-256", "SHA2-384", "SHA2-512"};
    for (int i = 0; i < N_ALGS; i++)
        if (!(v->md[i] = EVP_MD_fetch(NULL, md_names[i], NULL)) ||
            !(v->mctx[i] = EVP_MD_CTX_new()) || !EVP_DigestInit_ex2(v->mctx[i], v->md[i], NULL)) {
            dp__fail(err, DP_ERR_CRYPTO, NULL, DP_NO_OFFSET, "OpenSSL has no %s", md_names[i]);
            dp_verify_free(v);
            return NULL;
        }
    for (size_t i = 0; i < v->n_thumbs; i++) {
        const char *t = p->thumbprints[i];
        if (!t || !dp_hashuri_thumbprint_valid(t, strlen(t))) {
            dp__fail(err, DP_ERR_INVAL, "H2", DP_NO_OFFSET,
                     "thumbprint %zu is not 43 characters of unpadded base64url", i);
            dp_verify_free(v);
            return NULL;
        }
        memcpy(v->thumbs[i], t, DP_THUMBPRINT_BUF);
    }
    return v;
nomem:
    dp_verify_free(v);
    dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    return NULL;
}

/* Returns the memoized digest slot for (alg, key, form), computing it if needed. */
static const struct slot *digest_for(struct dp_verifier *v, dp_hash_alg alg, size_t key, int star,
                                     const char *domain, size_t dlen)
{
    int ai = alg_index(alg);
    struct slot *s = (star ? v->star : v->fqdn) + (size_t)ai * v->n_thumbs + key;
    unsigned want = star ? 1 : v->eval_gen;
    if (s->gen == want) return s;
    if (dp__hashuri_digest_bin(NULL, v->mctx[ai], star ? "*" : domain, star ? 1 : dlen,
                               v->thumbs[key], v->account_url, v->url_len, s->dg, &s->len) != DP_OK)
        return NULL;
    s->gen = want;
    return s;
}

/* Outcome of one record. */
enum rec_result { REC_VALID, REC_MALFORMED, REC_UNAUTHORIZED, REC_ERROR };

struct eval_state {
    const char *identifier;
    const char *record_domain;
    size_t rd_len;
    int64_t now;
};

static enum rec_result check_account(struct dp_verifier *v, const struct eval_state *st,
                                     const struct dp_record *rec, struct dp_verdict *out,
                                     struct dp_error *why)
{
    struct dp_span uri = rec->accounturi;
    /* The current prefix, or one the CA used before (draft 4.5). */
    const char *prefix = v->prefix;
    int looks_hashed = uri.len >= v->prefix_len && memcmp(uri.ptr, v->prefix, v->prefix_len) == 0;
    for (size_t i = 0; !looks_hashed && i < v->n_old; i++) {
        size_t l = strlen(v->old_prefixes[i]);
        if (uri.len >= l && memcmp(uri.ptr, v->old_prefixes[i], l) == 0) {
            looks_hashed = 1;
            prefix = v->old_prefixes[i];
        }
    }

    if (v->mode == DP_MODE_DRAFT01 || (v->mode == DP_MODE_COMPAT && !looks_hashed)) {
        if (uri.len == v->url_len && memcmp(uri.ptr, v->account_url, uri.len) == 0) {
            out->plain = 1;
            return REC_VALID;
        }
        dp__fail(why, DP_ERR_UNAUTHORIZED, "R4", DP_NO_OFFSET,
                 "accounturi is not this account's URL %s", v->account_url);
        return REC_UNAUTHORIZED;
    }
    struct dp_hashuri h;
    if (dp_hashuri_parse(uri.ptr, uri.len, prefix, v->accepted, &h, why) != DP_OK)
        return REC_MALFORMED;
    unsigned char want[DP_HASH_MAX_OCTETS];
    size_t want_len = dp__b64url_decode(h.digest.ptr, h.digest.len, want, sizeof want);
    for (size_t k = 0; k < v->n_thumbs; k++) {
        for (int star = 0; star <= 1; star++) {
            const struct slot *d = digest_for(v, h.alg, k, star, st->record_domain, st->rd_len);
            if (!d) {
                dp__fail(why, DP_ERR_CRYPTO, NULL, DP_NO_OFFSET, "digest computation failed");
                return REC_ERROR;
            }
            if (d->len == want_len && memcmp(d->dg, want, want_len) == 0) {
                out->key_index = k;
                out->star = star;
                out->alg = h.alg;
                return REC_VALID;
            }
        }
    }
    dp__fail(why, DP_ERR_UNAUTHORIZED, "H4", DP_NO_OFFSET,
             "accounturi matches none of this account's %zu key(s) for domain %s or '*'",
             v->n_thumbs, st->record_domain);
    return REC_UNAUTHORIZED;
}

static enum rec_result check_record(struct dp_verifier *v, const struct eval_state *st,
                                    const char *val, size_t len, struct dp_verdict *out,
                                    struct dp_error *why)
{
    struct dp_record rec;
    if (dp_record_parse(val, len, &rec, why) != DP_OK) return REC_MALFORMED;
    enum rec_result r = check_account(v, st, &rec, out, why);
    if (r != REC_VALID) return r;
    if (dp_scope_check(v->ctx, st->record_domain, rec.wildcard, st->identifier, why) != DP_OK)
        return REC_UNAUTHORIZED;
    if (rec.has_persist_until && st->now > rec.persist_until) {
        char when[32] = "out of range";
        time_t t = (time_t)rec.persist_until;
        struct tm tm;
        if ((int64_t)t == rec.persist_until && gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        dp__fail(why, DP_ERR_UNAUTHORIZED, "V3", DP_NO_OFFSET,
                 "persistUntil %" PRId64 " (%s) has passed", rec.persist_until, when);
        return REC_UNAUTHORIZED;
    }
    out->has_persist_until = rec.has_persist_until;
    out->persist_until = rec.persist_until;
    return REC_VALID;
}

static int issuer_matches(const struct dp_verifier *v, const char *val, size_t len)
{
    struct dp_span tok = dp_record_issuer_token(val, len);
    for (size_t i = 0; i < v->n_issuers; i++)
        if (dp_record_issuer_matches(tok, v->issuers[i])) return 1;
    return 0;
}

/* snprintf into a detail buffer; cutting a long detail short is intended,
 * and going through vsnprintf keeps -Wformat-truncation quiet about it. */
static int DP_PRINTF(3, 4) fmt_into(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

static void set_verdict(struct dp_verdict *out, dp_code code, long record, const char *rule,
                        const char *detail)
{
    out->code = code;
    out->acme_type = code == DP_OK              ? NULL
                     : code == DP_ERR_MALFORMED ? DP_ACME_MALFORMED
                                                : DP_ACME_UNAUTHORIZED;
    out->record = record;
    out->rule = rule;
    /* A copy, not a format: the valid path passes "" once per evaluation. */
    size_t l = strnlen(detail, sizeof out->detail - 1);
    memcpy(out->detail, detail, l);
    out->detail[l] = '\0';
}

dp_code dp_verify_eval(struct dp_verifier *v, const char *identifier, const char *record_domain,
                       const struct dp_txt_rr *rrs, size_t n, enum dp_account_status status,
                       int64_t now, struct dp_verdict *out, struct dp_error *err)
{
    dp_error_clear(err);
    if (!v || !identifier || !out || (n && !rrs))
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    memset(out, 0, sizeof *out);
    out->record = -1;

    char ident[DP_DOMAIN_MAX + 3], rdom[DP_DOMAIN_MAX + 3];
    dp_code rc = dp_domain_normalize(identifier, ident, DP_DOMAIN_ALLOW_WILDCARD, err);
    if (rc != DP_OK) return rc;
    if (record_domain) {
        rc = dp_domain_normalize(record_domain, rdom, 0, err);
        if (rc != DP_OK) return rc;
    } else {
        strcpy(rdom, dp_domain_base(ident)); /* already normalized */
    }

    if (status == DP_ACCOUNT_DEACTIVATED) {
        set_verdict(out, DP_ERR_UNAUTHORIZED, -1, "V5",
                    "the account is deactivated; its records never validate");
        return DP_OK;
    }
    if (++v->eval_gen == 0) { /* wrapped: forget every FQDN slot */
        memset(v->fqdn, 0, N_ALGS * (v->n_thumbs ? v->n_thumbs : 1) * sizeof *v->fqdn);
        v->eval_gen = 2;
    }
    if (v->eval_gen == 1) v->eval_gen = 2; /* 1 marks star slots */

    struct eval_state st = {ident, rdom, strlen(rdom), now};
    long first_malformed = -1, first_unauth = -1;
    struct dp_error mal, unauth;
    size_t n_unauth = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        struct dp_error why;
        /* Fails only on caller error: DNS RDATA never exceeds 65535 octets. */
        if (dp_txt_join(&rrs[i], v->joined, DP_TXT_VALUE_MAX + 1, &len, &why) != DP_OK)
            return dp__fail(err, why.code, "R2", i, "TXT record %zu: %s", i, why.detail);
        if (!issuer_matches(v, v->joined, len)) continue;
        out->n_matching++;
        dp_error_clear(&why);
        enum rec_result r = check_record(v, &st, v->joined, len, out, &why);
        if (r == REC_VALID) {
            /* No detail text on success: formatting it would cost more than the
             * evaluation, and the caller has record and key_index. */
            set_verdict(out, DP_OK, (long)i, "V4", "");
            return DP_OK;
        }
        if (r == REC_ERROR) return dp__fail(err, why.code, NULL, DP_NO_OFFSET, "%s", why.detail);
        /* Reset what check_record may have set on the way to its failure. */
        out->has_persist_until = 0;
        out->persist_until = 0;
        out->plain = 0;
        out->star = 0;
        out->key_index = 0;
        out->alg = 0;
        if (r == REC_MALFORMED && first_malformed < 0) {
            first_malformed = (long)i;
            mal = why;
        } else if (r == REC_UNAUTHORIZED) {
            if (first_unauth < 0) {
                first_unauth = (long)i;
                unauth = why;
            }
            n_unauth++;
        }
    }

    char d[sizeof out->detail];
    if (first_malformed >= 0) {
        fmt_into(d, sizeof d, "TXT record %ld at %s.%s: %s (%s)", first_malformed,
                 DP_VALIDATION_LABEL, rdom, mal.detail, mal.rule ? mal.rule : "R3");
        set_verdict(out, DP_ERR_MALFORMED, first_malformed, mal.rule ? mal.rule : "R3", d);
    } else if (first_unauth >= 0) {
        if (n_unauth > 1)
            fmt_into(d, sizeof d,
                     "TXT record %ld at %s.%s: %s (%s); %zu other record(s) for this "
                     "issuer fail too",
                     first_unauth, DP_VALIDATION_LABEL, rdom, unauth.detail, unauth.rule,
                     n_unauth - 1);
        else
            fmt_into(d, sizeof d, "TXT record %ld at %s.%s: %s (%s)", first_unauth,
                     DP_VALIDATION_LABEL, rdom, unauth.detail, unauth.rule);
        set_verdict(out, DP_ERR_UNAUTHORIZED, first_unauth, unauth.rule, d);
    } else if (n == 0) {
        fmt_into(d, sizeof d, "no TXT record at %s.%s", DP_VALIDATION_LABEL, rdom);
        set_verdict(out, DP_ERR_UNAUTHORIZED, -1, "V4", d);
    } else {
        int o = fmt_into(d, sizeof d, "none of the %zu TXT record(s) at %s.%s names issuer ", n,
                         DP_VALIDATION_LABEL, rdom);
        for (size_t i = 0; i < v->n_issuers && o > 0 && (size_t)o < sizeof d; i++)
            o += fmt_into(d + o, sizeof d - (size_t)o, "%s%s", i ? " or " : "", v->issuers[i]);
        set_verdict(out, DP_ERR_UNAUTHORIZED, -1, "V2", d);
    }
    dp__log(v->ctx, DP_LOG_DEBUG, "verify", "%s: %s", ident, out->detail);
    return DP_OK;
}

int64_t dp_verify_clamp_expires(const struct dp_verdict *verdict, int64_t expires)
{
    if (verdict && verdict->code == DP_OK && verdict->has_persist_until &&
        verdict->persist_until < expires)
        return verdict->persist_until;
    return expires;
}
