/*
 * announce.c: the lines a CA prints once it serves: where its directory,
 * root, CRL and metrics are, how it resolves and corroborates, and whether
 * it conforms. As text, or JSON objects with --log-format json.
 */
#include "announce.h"
#include "log.h"
#include "mpic.h"

void announce(const struct ca_config *c, const char *base)
{
    log_console(1, LOG_INFO, "directory %s/directory\n", base);
    /* Said where an operator looks first: such a CA does not conform. */
    if (c->directory_draft01)
        log_console(1, LOG_INFO,
                    "NOT a draft-02 CA: --directory-meta draft01 advertises as a "
                    "draft-01 CA (no issuerDomainNames, no accountHashPrefix) and accepts draft-01 "
                    "records\n");
    else if (c->draft01_compat)
        log_console(1, LOG_INFO,
                    "NOT a draft-02 CA: --draft01-compat accepts draft-01 records "
                    "(plain account URLs), which draft-02 does not allow\n");
    log_console(1, LOG_INFO, "root certificate %s/root.pem (clients must trust it)\n", c->data);
    log_console(1, LOG_INFO, "CRL %s\n", c->crl_url);
    log_console(1, LOG_INFO, "DNS %s, DNSSEC %s%s\n",
                c->resolver[0] ? c->resolver : "recursion from the root",
                c->trust_anchor[0] ? "validated with " : "not validated", c->trust_anchor);
    if (c->n_perspectives)
        log_console(1, LOG_INFO,
                    "MPIC: %zu remote perspectives; at most %zu may disagree; %u s "
                    "timeout\n",
                    c->n_perspectives, mpic_allowed(c->n_perspectives, c->perspective_quorum),
                    c->perspective_timeout_ms / 1000);
    else
        log_console(1, LOG_INFO,
                    "MPIC: single perspective (no --perspective): validations and "
                    "CAA are not corroborated from other networks\n");
    if (c->metrics_port)
        log_console(1, LOG_INFO, "metrics http://%s:%d/metrics, health /health and /health/ready\n",
                    c->metrics_host, c->metrics_port);
}
