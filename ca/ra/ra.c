/*
 * ra.c: the registration authority (ra.h): policy decisions and every state
 * change, each a compare-and-set through the store.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "crl.h"
#include "log.h"
#include "metrics.h"
#include "problem.h"
#include "ra.h"
#include "ra_int.h"
#include "ra_status.h"

const char *const RA_CH_TYPES[CA_MAX_CHALLENGES] = {"dns-persist-01", "dns-01", "http-01"};

int ra_challenge_index(const char *type)
{
    for (int i = 0; i < CA_MAX_CHALLENGES; i++)
        if (!strcmp(type, RA_CH_TYPES[i])) return i;
    return -1;
}

unsigned ra_challenges_offered(struct ra *ra, const struct st_authz *a)
{
    unsigned m = (ra->cfg->persist ? 1u : 0) | (ra->cfg->dns01 ? 2u : 0) |
                 (ra->cfg->http01 && !a->wildcard ? 4u : 0); /* RFC 8555 7.1.3: wildcards by DNS */
    const struct profiles *ps = ra->cfg->profiles;
    if (!ps->narrowing) return m; /* no profile narrows them: no need to read the order */
    struct st_order *o = malloc(sizeof *o);
    const struct profile *prof =
        o && !store_order_get(ra->store, a->order, o) ? profiles_find(ps, o->profile) : NULL;
    if (prof && prof->challenges) m &= prof->challenges;
    free(o);
    return m;
}

/* ---- accounts ---- */

/* RFC 8555 7.3.4: the binding must be a JWS by one of the operator's MAC
 * keys over the account key, for the new-account URL. */
static int eab_ok(struct ra *ra, const char *jwk, const char *eab, struct ra_problem *p)
{
    if (!eab)
        return ra_refuse(p, 400, "externalAccountRequired",
                         "this CA requires an externalAccountBinding");
    char kid[256], want[600];
    struct dp_error e;
    snprintf(want, sizeof want, "%s/acme/new-account", ra->cfg->base);
    size_t k = ra->cfg->n_eab;
    if (dp_jws_eab_kid(eab, kid, sizeof kid, &e) == DP_OK)
        for (k = 0; k < ra->cfg->n_eab && strcmp(ra->cfg->eab_kid[k], kid); k++)
            ;
    if (k == ra->cfg->n_eab)
        return ra_refuse(p, 401, "unauthorized", "unknown external account key id");
    dp_code vr = dp_jws_eab_verify(eab, ra->cfg->eab_key[k], want, jwk, &e);
    if (vr == DP_OK) return 0;
    return ra_refuse(p, vr == DP_ERR_MALFORMED ? 400 : 401,
                     vr == DP_ERR_MALFORMED ? "malformed" : "unauthorized", "%s", e.detail);
}

/* 0 when the key (RFC 7638 thumbprint) was never reported compromised;
 * else a badPublicKey problem (RFC 8555 6.7). */
static int key_not_blocked(struct ra *ra, const char *thumb, const char *what, struct ra_problem *p)
{
    int b = store_key_blocked(ra->store, thumb);
    if (b < 0) return ra_refuse(p, 500, "serverInternal", "cannot read the blocked keys");
    if (b)
        return ra_refuse(p, 400, "badPublicKey",
                         "the %s key was reported compromised (a certificate for it was revoked "
                         "for keyCompromise, or by its own key): use a new key",
                         what);
    return 0;
}

/* pki_issue's question about a CSR's key (struct pki_key_check). */
static int csr_key_allowed(void *arg, const char *thumb)
{
    struct ra *ra = arg;
    int b = store_key_blocked(ra->store, thumb);
    return b < 0 ? -1 : !b;
}

int ra_account_new(struct ra *ra, const char *jwk, const char *thumb, const char *contact,
                   const char *eab, const char *peer, struct st_account *out, struct ra_problem *p)
{
    if (key_not_blocked(ra, thumb, "account", p)) return -1;
    if (ra->cfg->n_eab && eab_ok(ra, jwk, eab, p)) return -1;
    struct rl_ask ask = {RL_ACCOUNTS_PER_IP, RL_SPEND, "", NULL};
    ra_peer_key(peer && peer[0] ? peer : "unknown", ask.key, sizeof ask.key);
    if (ra_limits(ra, &ask, 1, p)) return -1;
    int rc = store_account_create(ra->store, jwk, thumb, contact, out);
    if (rc == 1) /* created by a racing request with the same key */
        rc = store_account_by_thumb(ra->store, thumb, out);
    return rc ? ra_refuse(p, 500, "serverInternal", "cannot store the account") : 0;
}

int ra_account_update(struct ra *ra, struct st_account *acct, const char *contact, int deactivate,
                      struct ra_problem *p)
{
    int rc = 0;
    if (contact) rc = store_account_set_contact(ra->store, acct->id, contact);
    if (rc == 0 && deactivate) {
        /* RFC 8555 7.3.6: what the account had under way goes with it. */
        char *err =
            problem_json("unauthorized", "the account that placed this order was deactivated", 403);
        rc = err ? store_account_deactivate(ra->store, acct->id, err) : -1;
        free(err);
    }
    if (rc == 1) return ra_refuse(p, 401, "unauthorized", "the account is not valid any more");
    if (rc || store_account_get(ra->store, acct->id, acct))
        return ra_refuse(p, 500, "serverInternal", "cannot update the account");
    return 0;
}

int ra_account_rollover(struct ra *ra, struct st_account *acct, const char *jwk, const char *thumb,
                        struct ra_problem *p)
{
    struct st_account other;
    if (key_not_blocked(ra, thumb, "new account", p)) return -1;
    if (store_account_by_thumb(ra->store, thumb, &other) == 0) {
        snprintf(p->location, sizeof p->location, "%s", other.id);
        return ra_refuse(p, 409, "conflict", "the new key already belongs to an account");
    }
    int rc = store_account_rollover(ra->store, acct->id, jwk, thumb);
    if (rc == 1)
        return ra_refuse(p, 409, "conflict",
                         "the new key already belongs to an account, or this one is not valid");
    if (rc || store_account_get(ra->store, acct->id, acct))
        return ra_refuse(p, 500, "serverInternal", "cannot store the new key");
    return 0;
}

/* ---- orders ---- */

/* Draft 4.4: an account that has passed a dns-persist-01 challenge before
 * gets its authorizations valid at once when its records authorize them
 * now; the rest stay pending with their challenges. Each is logged, since
 * no challenge exchange shows the account holder it happened. */
static void jit(struct ra *ra, const struct st_order *o, struct st_authz_init *init, int64_t now,
                struct va_jit *items)
{
    for (size_t i = 0; i < o->n; i++)
        items[i] = (struct va_jit){o->account, o->identifiers[i], 0, 0, ""};
    ra->va.jit(ra->va.va, items, o->n);
    for (size_t i = 0; i < o->n; i++) {
        if (!items[i].valid) continue;
        init[i].validated = now;
        init[i].perspectives = items[i].perspectives; /* the caller's: they outlive the insert */
        init[i].expires = now + ra->cfg->authz_lifetime;
        if (items[i].clamp && items[i].clamp < init[i].expires) init[i].expires = items[i].clamp;
        metrics_validation("dns-persist-01", 1, 1, -1);
        log_event(LOG_INFO, "validation", "name", o->identifiers[i], "type", "dns-persist-01",
                  "result", "valid", "account", o->account, "?jit", "true", "resolver",
                  ra->cfg->resolver[0] ? ra->cfg->resolver : "recursive", "perspective", "primary",
                  "perspectives", items[i].perspectives, "msg",
                  "authorized just in time by its dns-persist-01 record", NULL);
    }
}

int ra_cert_by_ari_id(struct ra *ra, const char *id, struct st_cert *c, struct ra_problem *p)
{
    memset(c, 0, sizeof *c);
    const char *dot = strchr(id, '.');
    unsigned char aki[64], ser[64];
    size_t al = dot ? dp_b64url_decode(id, (size_t)(dot - id), aki, sizeof aki) : (size_t)-1;
    size_t sl = dot ? dp_b64url_decode(dot + 1, strlen(dot + 1), ser, sizeof ser) : (size_t)-1;
    if (al == (size_t)-1 || sl == (size_t)-1 || al == 0 || sl == 0 || sl > 20)
        return ra_refuse(p, 400, "malformed",
                         "a certificate ID is base64url(AKI keyIdentifier).base64url(serial) "
                         "(RFC 9773 4.1)");
    char hex[2 * sizeof ser + 1], *h = hex;
    size_t i = 0;
    while (i + 1 < sl && ser[i] == 0)
        i++; /* the serial's leading zero octet is not part of our hex form */
    for (; i < sl; i++)
        h += sprintf(h, "%02x", ser[i]);
    if (!pki_is_issuer_key_id(ra->pki, aki, al) || store_cert_by_serial(ra->store, hex, c)) {
        free(c->pem);
        c->pem = NULL;
        return ra_refuse(p, 404, "malformed", "no certificate of this CA has that ID");
    }
    return 0;
}

/* RFC 9773 5: a replacement names a certificate of the same account that
 * shares an identifier with the new order. */
static int replacement_ok(struct ra *ra, struct st_order *o, struct ra_problem *p)
{
    struct st_cert c;
    if (ra_cert_by_ari_id(ra, o->replaces, &c, p)) {
        p->status = 400; /* in a new order: malformed, not a missing resource */
        return -1;
    }
    char names[ST_MAX_IDENTIFIERS][256];
    size_t n = strcmp(c.account, o->account) ? 0 : pki_pem_names(c.pem, names, ST_MAX_IDENTIFIERS);
    int shared = 0;
    for (size_t i = 0; i < n && !shared; i++)
        for (size_t k = 0; k < o->n && !shared; k++)
            shared = !strcmp(names[i], o->identifiers[k]);
    snprintf(o->replaces_cert, sizeof o->replaces_cert, "%s", c.id);
    free(c.pem);
    if (!shared)
        return ra_refuse(p, 400, "malformed",
                         "replaces must name a certificate of this account that shares an "
                         "identifier with the order (RFC 9773 5)");
    return 0;
}

int ra_order_new(struct ra *ra, struct st_order *o, int did_persist, struct ra_problem *p)
{
    if (o->replaces[0] && replacement_ok(ra, o, p)) return -1;
    int64_t now = (int64_t)time(NULL);
    o->expires = now + ra->cfg->order_lifetime;
    struct st_authz_init init[ST_MAX_IDENTIFIERS];
    for (size_t i = 0; i < o->n; i++)
        init[i] = (struct st_authz_init){o->identifiers[i][0] == '*', o->expires, 0, NULL};
    const struct profile *prof = profiles_find(ra->cfg->profiles, o->profile);
    int persist_ok = !prof || !prof->challenges || (prof->challenges & 1u);
    /* Per thread, not on the stack: 100 results with their perspective lists. */
    static __thread struct va_jit jit_items[ST_MAX_IDENTIFIERS];
    if (ra->cfg->jit && ra->cfg->persist && persist_ok && did_persist)
        jit(ra, o, init, now, jit_items);
    long pend = 0;
    for (size_t i = 0; i < o->n; i++)
        pend += !init[i].validated;
    if (ra_limit_pending(ra, o->account, pend, p)) return -1;
    /* One transaction: the order counted, its certificate limits looked at
     * (counted at issuance), the order and its authorizations stored. */
    static __thread struct rl_ask asks[ST_MAX_IDENTIFIERS + 2];
    size_t na = 1;
    char label[300];
    asks[0] = (struct rl_ask){RL_ORDERS_PER_ACCOUNT, RL_SPEND, "", "this account"};
    snprintf(asks[0].key, sizeof asks[0].key, "%s", o->account);
    ra_cert_asks(ra, o, RL_PEEK, asks, &na, label, sizeof label);
    if (ra_order_store(ra, o, init, asks, na, p)) return -1;
    metrics_event(M_ORDER_CREATED);
    return 0;
}

const char *ra_authz_status(const struct st_authz *a)
{
    /* Text no backend should hold counts as failed, as in ra_order_next. */
    if (a->status == ST_UNKNOWN) return st_status_name(ST_INVALID);
    return st_status_name(ra_authz_effective(a->status, a->expires, (int64_t)time(NULL)));
}

void ra_order_refresh(struct ra *ra, struct st_order *o)
{
    enum st_status cur = o->status;
    if (cur != ST_PENDING && cur != ST_READY) return;
    int64_t now = (int64_t)time(NULL);
    enum st_status st[ST_MAX_IDENTIFIERS];
    size_t n = o->n < ST_MAX_IDENTIFIERS ? o->n : ST_MAX_IDENTIFIERS;
    for (size_t i = 0; i < n; i++) {
        struct st_authz a;
        /* An authorization that cannot be read counts as failed. */
        st[i] = store_authz_get(ra->store, o->authz[i], &a)
                    ? ST_UNKNOWN
                    : ra_authz_effective(a.status, a.expires, now);
    }
    enum st_status next = ra_order_next(cur, st, n, o->expires, now);
    if (next == cur) return;
    /* "ready" follows from the authorizations at every read: only the
     * terminal "invalid" is worth a write. When it finds the order moved
     * on (finalized meanwhile), the stored state is what the client sees. */
    int w = next == ST_INVALID ? store_order_invalidate(ra->store, o->id, o->error) : 0;
    if (w == 1) {
        if (store_order_get(ra->store, o->id, o))
            log_event(LOG_ERROR, "store", "order", o->id, "msg", "cannot read it back", NULL);
        return;
    }
    if (w == 0 && next == ST_INVALID) metrics_event(M_ORDER_INVALID);
    if (w < 0) /* the client sees invalid now; the next read tries the write again */
        log_event(LOG_ERROR, "store", "order", o->id, "msg", "cannot store its invalidation", NULL);
    o->status = next;
}

/* 0 when this thread may finalize order id (until finalize_done); 1 when
 * another request is finalizing it now. With a shared database, the claim
 * is a lease there: an instance that dies mid-finalize leaves the order
 * ready, claimable again after FINALIZE_LEASE seconds (a client retrying
 * the finalize waits that long at most). The lease is renewed just before
 * signing (finalize_fresh), so the slow part before it (CAA re-checks)
 * cannot outlast it and let a second instance sign the same order. */
#define FINALIZE_LEASE 20
static int finalize_claim(struct ra *ra, const char *id)
{
    if (store_shared(ra->store)) { /* instances sharing the database: a lease in it */
        char name[ST_ID + 16];
        snprintf(name, sizeof name, "finalize:%s", id);
        return store_lease_take(ra->store, name, ra->instance, FINALIZE_LEASE) != 0;
    }
    int busy = 0, slot = -1;
    pthread_mutex_lock(&ra->fin_mu);
    for (int i = 0; i < 64; i++) {
        if (!strcmp(ra->finalizing[i], id)) busy = 1;
        if (!ra->finalizing[i][0] && slot < 0) slot = i;
    }
    if (!busy && slot >= 0) snprintf(ra->finalizing[slot], ST_ID, "%s", id);
    pthread_mutex_unlock(&ra->fin_mu);
    return busy || slot < 0;
}

/* Renews this instance's claim right before signing: 0, or 1 when it
 * lapsed and another instance holds the order now (nothing is signed). */
static int finalize_fresh(struct ra *ra, const char *id)
{
    if (!store_shared(ra->store)) return 0;
    char name[ST_ID + 16];
    snprintf(name, sizeof name, "finalize:%s", id);
    return store_lease_take(ra->store, name, ra->instance, FINALIZE_LEASE) != 0;
}

static void finalize_done(struct ra *ra, const char *id)
{
    if (store_shared(ra->store)) {
        char name[ST_ID + 16];
        snprintf(name, sizeof name, "finalize:%s", id);
        store_lease_drop(ra->store, name, ra->instance);
        return;
    }
    pthread_mutex_lock(&ra->fin_mu);
    for (int i = 0; i < 64; i++)
        if (!strcmp(ra->finalizing[i], id)) ra->finalizing[i][0] = '\0';
    pthread_mutex_unlock(&ra->fin_mu);
}

/* CA/B Baseline Requirements 3.2.2.8: CAA is checked again at issuance
 * for every name whose validation (Just-in-Time ones too) is older than
 * CAA_RECHECK_AGE. A refusal makes the order invalid: its authorizations
 * stand, but this issuance may not happen. */
#define CAA_RECHECK_AGE (8 * 3600)
static int caa_current(struct ra *ra, struct st_order *o, struct ra_problem *p)
{
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < o->n; i++) {
        struct st_authz a;
        if (store_authz_get(ra->store, o->authz[i], &a))
            return ra_refuse(p, 500, "serverInternal", "cannot read an authorization");
        if (now - a.ch_validated <= CAA_RECHECK_AGE) continue;
        struct va_result r = {0};
        if (ra->va.caa_recheck(ra->va.va, &a, &r)) continue;
        char *pj = problem_json(r.type, r.detail, r.status);
        if (store_order_invalidate(ra->store, o->id, pj ? pj : "") < 0)
            log_event(LOG_ERROR, "store", "order", o->id, "msg", "cannot store its invalidation",
                      NULL);
        free(pj);
        metrics_event(M_ORDER_INVALID);
        log_event(LOG_WARN, "caa", "name", a.identifier, "order", o->id, "account", o->account,
                  "problem", r.type, "detail", r.detail, "msg", "CAA refused at finalize", NULL);
        return ra_refuse(p, r.status, r.type, "%s", r.detail);
    }
    return 0;
}

static int issue(struct ra *ra, struct st_order *o, const char *csr, struct ra_problem *p)
{
    ra_order_refresh(ra, o);
    if (o->status != ST_READY)
        return ra_refuse(p, 403, "orderNotReady", "the order is %s, not ready",
                         st_status_name(o->status));
    if (!csr || strlen(csr) > 16384)
        return ra_refuse(p, 400, "malformed", "finalize needs a csr (base64url DER)");
    unsigned char der[12288];
    size_t dl = dp_b64url_decode(csr, strlen(csr), der, sizeof der);
    if (dl == (size_t)-1) return ra_refuse(p, 400, "badCSR", "the csr is not base64url");
    if (caa_current(ra, o, p)) return -1;
    const char *names[ST_MAX_IDENTIFIERS];
    for (size_t i = 0; i < o->n; i++)
        names[i] = o->identifiers[i];
    char why[256], serial[48], cert_id[ST_ID], *pem = NULL;
    struct st_account acct;
    if (store_account_get(ra->store, o->account, &acct))
        return ra_refuse(p, 500, "serverInternal", "cannot read the order's account");
    const struct profiles *ps = ra->cfg->profiles;
    const struct profile *prof = profiles_find(ps, o->profile);
    if (!prof) /* its profile was removed from the configuration since the order */
        return ra_refuse(p, 400, "invalidProfile",
                         "this order's profile %.32s is no longer offered: place a new order",
                         o->profile);
    struct pki_key_check kc = {csr_key_allowed, ra};
    if (finalize_fresh(ra, o->id))
        return ra_refuse(p, 403, "orderNotReady", "the order is being finalized elsewhere");
    char issuer[PKI_ISSUER_NAME];
    enum pki_csr_result cr = pki_issue(ra->pki, der, dl, names, o->n, prof, acct.jwk, &kc, &pem,
                                       serial, issuer, why, sizeof why);
    /* The order stays ready on any of these (RFC 8555 7.4). */
    if (cr == PKI_CSR_KEY_BLOCKED) return ra_refuse(p, 400, "badPublicKey", "%s", why);
    if (cr == PKI_CSR_KEY_UNCHECKED) return ra_refuse(p, 500, "serverInternal", "%s", why);
    if (cr != PKI_CSR_OK && cr != PKI_ISSUE_FAILED) return ra_refuse(p, 400, "badCSR", "%s", why);
    int stored = cr == PKI_CSR_OK
                     ? store_cert_create(ra->store, o->account, o->id, serial, pem, issuer, cert_id)
                     : -1;
    free(pem);
    if (stored == 1) /* deactivated or expired meanwhile: the certificate is dropped */
        return ra_refuse(p, 403, "orderNotReady", "the order is no longer ready");
    if (stored) {
        char *pj = problem_json("serverInternal", "issuance failed", 500);
        if (store_order_invalidate(ra->store, o->id, pj ? pj : "") < 0)
            log_event(LOG_ERROR, "store", "order", o->id, "msg", "cannot store its invalidation",
                      NULL);
        free(pj);
        return ra_refuse(p, 500, "serverInternal", "issuance failed");
    }
    static __thread struct rl_ask asks[ST_MAX_IDENTIFIERS + 1];
    struct ra_problem spent = {0}; /* issued: counted, whatever the limit says now */
    size_t na = 0;
    char label[300];
    ra_cert_asks(ra, o, RL_FORCE, asks, &na, label, sizeof label);
    ra_limits(ra, asks, na, &spent);
    metrics_event(M_CERT_ISSUED);
    char idents[2048] = ""; /* the identifiers, comma-separated (a long list is cut) */
    for (size_t i = 0, n = 0; i < o->n && n < sizeof idents - 1; i++)
        n += (size_t)snprintf(idents + n, sizeof idents - n, "%s%s", i ? "," : "",
                              o->identifiers[i]);
    log_event(LOG_INFO, "issued", "order", o->id, "account", o->account, "serial", serial,
              "profile", prof->name, "names", idents, NULL);
    o->status = ST_VALID;
    snprintf(o->cert, sizeof o->cert, "%s", cert_id);
    o->error[0] = '\0';
    return 0;
}

int ra_finalize(struct ra *ra, struct st_order *o, const char *csr, struct ra_problem *p)
{
    if (finalize_claim(ra, o->id))
        return ra_refuse(p, 403, "orderNotReady", "the order is being finalized already");
    int rc = issue(ra, o, csr, p);
    finalize_done(ra, o->id);
    return rc;
}

/* ---- authorizations and challenges ---- */

int ra_authz_live(struct ra *ra, struct st_authz *a)
{
    /* Most validations end in milliseconds: asking every client to wait a
     * whole second (Retry-After has no finer unit) would slow them all;
     * only one that is taking long is told to. */
    return ra->va.overlay(ra->va.va, a) > 1000 ? 1 : 0;
}

int ra_authz_deactivate(struct ra *ra, struct st_authz *a, struct ra_problem *p)
{
    int rc = store_authz_deactivate(ra->store, a->id);
    if (rc < 0) return ra_refuse(p, 500, "serverInternal", "cannot store the deactivation");
    if (store_authz_get(ra->store, a->id, a))
        return ra_refuse(p, 500, "serverInternal", "cannot read the authorization");
    if (rc == 1)
        return ra_refuse(p, 403, "unauthorized", "a %s authorization cannot be deactivated",
                         st_status_name(a->status));
    return 0;
}

int ra_challenge_answer(struct ra *ra, struct st_authz *a, int t, struct ra_problem *p)
{
    int answer = a->status == ST_PENDING && a->ch_status == ST_PENDING;
    int shared = store_shared(ra->store);
    if (shared && a->status == ST_PENDING && a->ch_status == ST_PROCESSING &&
        strcmp(a->ch_type, RA_CH_TYPES[t]))
        return ra_refuse(p, 400, "malformed",
                         "another challenge of this authorization is being validated");
    if (answer && shared) { /* leased in the database: any instance finishes it */
        int r = store_authz_answer(ra->store, a->id, RA_CH_TYPES[t], ra->instance,
                                   (int)ra->cfg->validation_lease);
        if (r < 0) return ra_refuse(p, 500, "serverInternal", "cannot store the answer");
        if (r == 1) { /* answered at another instance meanwhile */
            if (store_authz_get(ra->store, a->id, a))
                return ra_refuse(p, 500, "serverInternal", "cannot read the authorization");
            return 0;
        }
    }
    int started = answer ? ra->va.answer(ra->va.va, a, RA_CH_TYPES[t]) : 2;
    if (started == -1 && shared) { /* stored and leased: a sweep takes it when the lease ends */
        snprintf(a->ch_type, sizeof a->ch_type, "%s", RA_CH_TYPES[t]);
        a->ch_status = ST_PROCESSING;
        return 0;
    }
    if (started == 1)
        return ra_refuse(p, 400, "malformed",
                         "another challenge of this authorization is being validated");
    if (started == -1) {
        p->retry_after = 5;
        metrics_rate_limited(RL_N);
        return ra_refuse(p, 503, "rateLimited", "the validation queue is full: answer again later");
    }
    ra->va.overlay(ra->va.va, a);
    return 0;
}

void ra_validation_done(void *arg, const struct st_authz *a, const struct va_result *r)
{
    struct ra *ra = arg;
    int64_t now = (int64_t)time(NULL), expires = a->expires;
    char *pj = NULL;
    if (r->valid) {
        expires = now + ra->cfg->authz_lifetime;
        if (r->clamp && r->clamp < expires) expires = r->clamp; /* V6 */
    } else {
        pj = problem_json(r->type, r->detail, r->status);
    }
    int rc = store_authz_finish(ra->store, a->id, a->ch_type, r->valid, expires, r->valid ? now : 0,
                                pj ? pj : "", r->perspectives);
    free(pj);
    metrics_validation(a->ch_type, r->valid, 0, r->seconds);
    char name[260];
    snprintf(name, sizeof name, "%s%s", a->wildcard ? "*." : "", a->identifier);
    /* A failed validation is always logged with its cause (warn): it is
     * what an operator looks for when a client says it cannot get a
     * certificate, or when someone probes names they do not hold. */
    log_event(r->valid ? LOG_INFO : LOG_WARN, "validation", "name", name, "type", a->ch_type,
              "result", r->valid ? "valid" : "invalid", "?jit", "false", "account", a->account,
              "authz", a->id, "problem", r->valid ? NULL : r->type, "detail",
              r->valid ? NULL : r->detail, "resolver",
              ra->cfg->resolver[0] ? ra->cfg->resolver : "recursive", "perspective", "primary",
              "record", r->record, "perspectives", r->perspectives, NULL);
    if (rc == 0 && !r->valid && r->fail_key[0]) { /* V7: counted in the store, kept over restarts */
        struct rl_take t = {r->fail_key, &ra->cfg->limits->l[RL_FAILED_VALIDATIONS], RL_FORCE};
        if (store_rate_take(ra->store, &t, 1, now * 1000, NULL, NULL) < 0)
            log_event(LOG_ERROR, "store", "authorization", a->id, "msg",
                      "cannot count its failure (V7)", NULL);
    }
    struct st_account acct;
    /* A5: the account has now passed dns-persist-01 (Just-in-Time from now on). */
    if (rc == 0 && r->valid && !strcmp(a->ch_type, "dns-persist-01") &&
        store_account_get(ra->store, a->account, &acct) == 0 && !acct.did_persist &&
        store_account_mark_persist(ra->store, a->account) < 0)
        log_event(LOG_ERROR, "store", "account", a->account, "msg",
                  "cannot record its dns-persist-01 success", NULL);
    if (rc < 0)
        log_event(LOG_ERROR, "store", "authorization", a->id, "msg",
                  "cannot store the validation result", NULL);
}

/* ---- the RA itself ---- */

static int va_answer_fn(void *va, const struct st_authz *a, const char *type)
{
    return va_answer(va, a, type);
}

static double va_overlay_fn(void *va, struct st_authz *a)
{
    return va_overlay(va, a);
}

static void va_jit_fn(void *va, struct va_jit *items, size_t n)
{
    va_jit(va, items, n);
}

static int va_recheck_fn(void *va, const struct st_authz *a, struct va_result *r)
{
    return va_caa_recheck(va, a, r);
}

struct ra_va ra_va_of(struct va *va)
{
    return (struct ra_va){va, va_answer_fn, va_overlay_fn, va_jit_fn, va_recheck_fn};
}

struct ra *ra_new(const struct ra_config *cfg, struct store *store, struct pki *pki,
                  struct crl *crl, struct dp_ctx *dp, const char *instance)
{
    struct ra *ra = calloc(1, sizeof *ra);
    if (!ra) return NULL;
    ra->cfg = cfg;
    ra->store = store;
    ra->pki = pki;
    ra->crl = crl;
    ra->dp = dp;
    ra->instance = instance;
    pthread_mutex_init(&ra->fin_mu, NULL);
    return ra;
}

void ra_attach_va(struct ra *ra, struct ra_va va)
{
    ra->va = va;
}

void ra_free(struct ra *ra)
{
    if (!ra) return;
    pthread_mutex_destroy(&ra->fin_mu);
    free(ra);
}
