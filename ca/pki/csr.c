/*
 * csr.c: PKCS#10 requests read through OpenSSL's ASN.1 templates, with the
 * SubjectPublicKeyInfo kept as its two fields.
 *
 * Why not d2i_X509_REQ: in OpenSSL 3.0 decoding an X509_PUBKEY builds a
 * fresh OSSL_DECODER context, which walks every decoder and key manager of
 * the providers; that was an eighth of the CA's CPU per certificate. Here
 * the key is built from its fields with EVP_PKEY_fromdata instead, and the
 * signed part keeps its received encoding, so verification hashes exactly
 * the bytes that were signed.
 */
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>

#include "csr.h"

typedef struct {
    X509_ALGOR *algor;
    ASN1_BIT_STRING *key;
} CA_SPKI;

typedef struct {
    ASN1_ENCODING enc; /* the signed bytes, as received */
    ASN1_INTEGER *version;
    X509_NAME *subject;
    CA_SPKI *spki;
    STACK_OF(X509_ATTRIBUTE) * attributes;
} CA_CSR_INFO;

typedef struct {
    CA_CSR_INFO *info;
    X509_ALGOR *sig_alg;
    ASN1_BIT_STRING *signature;
} CA_CSR;

typedef struct {
    ASN1_INTEGER *n;
    ASN1_INTEGER *e;
} CA_RSA_PUB;

/* clang-format off */
ASN1_SEQUENCE(CA_SPKI) = {
    ASN1_SIMPLE(CA_SPKI, algor, X509_ALGOR),
    ASN1_SIMPLE(CA_SPKI, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CA_SPKI)

ASN1_SEQUENCE_enc(CA_CSR_INFO, enc, NULL) = {
    ASN1_SIMPLE(CA_CSR_INFO, version, ASN1_INTEGER),
    ASN1_SIMPLE(CA_CSR_INFO, subject, X509_NAME),
    ASN1_SIMPLE(CA_CSR_INFO, spki, CA_SPKI),
    ASN1_IMP_SET_OF_OPT(CA_CSR_INFO, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END_ref(CA_CSR_INFO, CA_CSR_INFO)

ASN1_SEQUENCE(CA_CSR) = {
    ASN1_SIMPLE(CA_CSR, info, CA_CSR_INFO),
    ASN1_SIMPLE(CA_CSR, sig_alg, X509_ALGOR),
    ASN1_SIMPLE(CA_CSR, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CA_CSR)

ASN1_SEQUENCE(CA_RSA_PUB) = {
    ASN1_SIMPLE(CA_RSA_PUB, n, ASN1_INTEGER),
    ASN1_SIMPLE(CA_RSA_PUB, e, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(CA_RSA_PUB);
/* clang-format on */

struct csr {
    CA_CSR *raw;
    EVP_PKEY *pub;
};

static const int CURVES[] = {NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1};
#define N_CURVES (sizeof CURVES / sizeof CURVES[0])

struct csr_curves {
    EVP_PKEY *tmpl[N_CURVES]; /* domain parameters only */
};

struct csr_curves *csr_curves_new(void)
{
    struct csr_curves *c = calloc(1, sizeof *c);
    for (size_t i = 0; c && i < N_CURVES; i++) {
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                                (char *)OBJ_nid2sn(CURVES[i]), 0),
                               OSSL_PARAM_construct_end()};
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
            EVP_PKEY_fromdata(ctx, &c->tmpl[i], EVP_PKEY_KEY_PARAMETERS, params) <= 0) {
            EVP_PKEY_CTX_free(ctx);
            csr_curves_free(c);
            return NULL;
        }
        EVP_PKEY_CTX_free(ctx);
    }
    return c;
}

void csr_curves_free(struct csr_curves *c)
{
    if (!c) return;
    for (size_t i = 0; i < N_CURVES; i++)
        EVP_PKEY_free(c->tmpl[i]);
    free(c);
}

/* A copy of curve's template with this point (EC_POINT_oct2point refuses a
 * point off the curve); NULL when no template fits or the point is bad. */
static EVP_PKEY *ec_from_template(const struct csr_curves *c, int curve, const unsigned char *pt,
                                  size_t len, int *no_template)
{
    *no_template = 1;
    for (size_t i = 0; c && i < N_CURVES; i++) {
        if (CURVES[i] != curve) continue;
        *no_template = 0;
        EVP_PKEY *pk = EVP_PKEY_dup(c->tmpl[i]);
        if (pk &&
            EVP_PKEY_set_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, len) == 1)
            return pk;
        EVP_PKEY_free(pk);
        return NULL;
    }
    return NULL;
}

void csr_free(struct csr *c)
{
    if (!c) return;
    ASN1_item_free((ASN1_VALUE *)c->raw, ASN1_ITEM_rptr(CA_CSR));
    EVP_PKEY_free(c->pub);
    free(c);
}

EVP_PKEY *csr_pubkey(const struct csr *c)
{
    return c->pub;
}

/* RSA and EC named-curve keys from their SubjectPublicKeyInfo fields; NULL
 * with *unsupported set for any other type. */
static EVP_PKEY *pkey_from_spki(const struct csr_curves *curves, const CA_SPKI *s, int *unsupported)
{
    const ASN1_OBJECT *aobj = NULL;
    int ptype = V_ASN1_UNDEF;
    const void *pval = NULL;
    X509_ALGOR_get0(&aobj, &ptype, &pval, s->algor);
    const unsigned char *key = ASN1_STRING_get0_data(s->key);
    int klen = ASN1_STRING_length(s->key);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    CA_RSA_PUB *rsa = NULL;
    BIGNUM *n = NULL, *e = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    const char *type = NULL;
    *unsupported = 0;
    if (!b || klen <= 0) goto out;
    switch (OBJ_obj2nid(aobj)) {
    case NID_X9_62_id_ecPublicKey: {
        int curve = ptype == V_ASN1_OBJECT ? OBJ_obj2nid(pval) : NID_undef;
        const char *group = curve != NID_undef ? OBJ_nid2sn(curve) : NULL;
        type = "EC";
        if (!group) {
            *unsupported = 1;
            goto out;
        }
        int no_template;
        pk = ec_from_template(curves, curve, key, (size_t)klen, &no_template);
        if (!no_template) goto out;
        if (!OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
            !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, key, (size_t)klen))
            goto out;
        break;
    }
    case NID_rsaEncryption: {
        const unsigned char *p = key;
        type = "RSA";
        rsa = (CA_RSA_PUB *)ASN1_item_d2i(NULL, &p, klen, ASN1_ITEM_rptr(CA_RSA_PUB));
        if (!rsa || p != key + klen || !(n = ASN1_INTEGER_to_BN(rsa->n, NULL)) ||
            !(e = ASN1_INTEGER_to_BN(rsa->e, NULL)) ||
            !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e))
            goto out;
        break;
    }
    default:
        *unsupported = 1;
        goto out;
    }
    if (!(params = OSSL_PARAM_BLD_to_param(b)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pk = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_free(n);
    BN_free(e);
    ASN1_item_free((ASN1_VALUE *)rsa, ASN1_ITEM_rptr(CA_RSA_PUB));
    return pk;
}

enum csr_result csr_parse(const struct csr_curves *curves, const unsigned char *der, size_t len,
                          struct csr **out, char *why, size_t cap)
{
    *out = NULL;
    struct csr *c = calloc(1, sizeof *c);
    const unsigned char *p = der;
    enum csr_result r = CSR_MALFORMED;
    if (!c || len > 65536) {
        snprintf(why, cap, "the CSR cannot be read");
        goto fail;
    }
    c->raw = (CA_CSR *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(CA_CSR));
    if (!c->raw || p != der + len) {
        snprintf(why, cap, "the CSR is not DER PKCS#10");
        goto fail;
    }
    long version = ASN1_INTEGER_get(c->raw->info->version);
    if (version != 0) {
        snprintf(why, cap, "the CSR version is %ld, not 1 (0)", version);
        goto fail;
    }
    int unsupported = 0;
    if (!(c->pub = pkey_from_spki(curves, c->raw->info->spki, &unsupported))) {
        if (unsupported) {
            snprintf(why, cap,
                     "the CSR key is weak or of an unsupported type (RSA 2048-8192, EC P-256, "
                     "P-384)");
            r = CSR_UNSUPPORTED;
        } else {
            snprintf(why, cap, "the CSR's public key cannot be read");
        }
        goto fail;
    }
    if (ASN1_item_verify(ASN1_ITEM_rptr(CA_CSR_INFO), c->raw->sig_alg, c->raw->signature,
                         c->raw->info, c->pub) != 1) {
        snprintf(why, cap, "the CSR's signature does not verify");
        goto fail;
    }
    ERR_clear_error();
    *out = c;
    return CSR_OK;
fail:
    csr_free(c);
    ERR_clear_error();
    return r;
}

/* The requestedExtensions attribute (RFC 2985; Microsoft's OID too). */
static STACK_OF(X509_EXTENSION) * requested_extensions(const CA_CSR_INFO *info)
{
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(info->attributes); i++) {
        X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(info->attributes, i);
        int nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(a));
        if (nid != NID_ext_req && nid != NID_ms_ext_req) continue;
        ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, 0);
        if (!t || t->type != V_ASN1_SEQUENCE) return NULL;
        const unsigned char *p = t->value.sequence->data;
        return (STACK_OF(X509_EXTENSION) *)ASN1_item_d2i(NULL, &p, t->value.sequence->length,
                                                         ASN1_ITEM_rptr(X509_EXTENSIONS));
    }
    return NULL;
}

/* Lowercase copy of an IA5String/UTF8String name; 0 when it does not fit. */
static int lower(const ASN1_STRING *s, char out[256])
{
    int l = ASN1_STRING_length(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    if (l <= 0 || l >= 256) return 0;
    for (int k = 0; k < l; k++)
        out[k] = (char)((d[k] >= 'A' && d[k] <= 'Z') ? d[k] + 32 : d[k]);
    out[l] = '\0';
    return 1;
}

size_t csr_names(const struct csr *c, char names[][256], size_t max)
{
    size_t n = 0;
    STACK_OF(X509_EXTENSION) *exts = requested_extensions(c->raw->info);
    GENERAL_NAMES *gens = exts ? X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL) : NULL;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        /* An IP or other name type is not something the CA validated. */
        if (g->type != GEN_DNS || n == max || !lower(g->d.dNSName, names[n])) {
            n = max + 1;
            break;
        }
        n++;
    }
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME *subj = c->raw->info->subject;
    int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    char cn[256];
    if (idx >= 0 && n <= max &&
        lower(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)), cn)) {
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= !strcmp(names[i], cn);
        if (!found && n < max)
            strcpy(names[n++], cn);
        else if (!found)
            n = max + 1;
    }
    ERR_clear_error();
    return n;
}

int csr_copy_spki(const struct csr *c, X509 *x)
{
    const CA_SPKI *s = c->raw->info->spki;
    X509_PUBKEY *dst = X509_get_X509_PUBKEY(x);
    const ASN1_OBJECT *alg = NULL;
    int ptype = V_ASN1_UNDEF;
    const void *pval = NULL;
    X509_ALGOR_get0(&alg, &ptype, &pval, s->algor);
    void *param = NULL;
    if (ptype == V_ASN1_OBJECT)
        param = OBJ_dup(pval);
    else if (ptype == V_ASN1_SEQUENCE)
        param = ASN1_STRING_dup(pval);
    else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
        return 0;
    int len = ASN1_STRING_length(s->key);
    unsigned char *enc = OPENSSL_memdup(ASN1_STRING_get0_data(s->key), (size_t)len);
    ASN1_OBJECT *a = OBJ_dup(alg);
    if (!dst || !enc || !a || (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF && !param) ||
        !X509_PUBKEY_set0_param(dst, a, ptype, param, enc, len)) {
        OPENSSL_free(enc);
        ASN1_OBJECT_free(a);
        if (ptype == V_ASN1_OBJECT) ASN1_OBJECT_free(param);
        if (ptype == V_ASN1_SEQUENCE) ASN1_STRING_free(param);
        return 0;
    }
    return 1;
}
