/* cmd_renew.c: `dnspersist renew`: reissues every certificate `issue` wrote,
 * in the state directory or with --out anywhere (lineages/), once its ARI
 * window (RFC 9773) opens, or within --days of notAfter. A lineage whose
 * files are gone is reported and makes the exit status non-zero. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "issue.h"

static const char *const CMD = "renew";

struct tally {
    size_t renewed, failed, kept, missing, hooks_failed;
};

/* One lineage: the certificate in outdir (meta.json, cert.pem), renewed
 * when due. where names the lineage for messages (its meta.json path). */
static void renew_dir(const struct issue_opts *o, const char *outdir, json_t *m, const char *mp,
                      struct tally *t)
{
    int64_t now = (int64_t)time(NULL);
    const char *dir = json_string_value(json_object_get(m, "directory"));
    json_t *ns = json_object_get(m, "names");
    int64_t na = (int64_t)json_integer_value(json_object_get(m, "notAfter"));
    if (!dir || !json_is_array(ns) || !json_array_size(ns)) {
        cli_error(CMD, "%s: unreadable, skipped", mp);
        t->failed++;
        return;
    }
    struct session s;
    char *names[100];
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(ns) && n < 100; i++)
        names[n++] = (char *)json_string_value(json_array_get(ns, i));
    struct issue_opts oo = *o;
    oo.out = outdir;
    oo.batch = NULL;
    oo.co.directory = dir;
    /* The profile the certificate was issued under, unless --profile says another. */
    const char *prof = json_string_value(json_object_get(m, "profile"));
    if (!o->profile && prof) oo.profile = prof;
    if (session_open(CMD, o->co.state, dir, o->co.bundle, 1, &s) != 0) {
        t->failed++;
        return;
    }
    /* ARI (RFC 9773) when the CA offers it: renew once its window opens.
     * Otherwise renew within --days of notAfter. */
    char cp[1500];
    snprintf(cp, sizeof cp, "%s/cert.pem", outdir);
    char *pem = cli_read_pem(cp);
    int64_t ws = 0, we = 0;
    struct dp_error e;
    dp_code ari = pem ? dp_acme_renewal_info(s.acme, pem, &ws, &we, &e) : DP_ERR_UNSUPPORTED;
    free(pem);
    /* ARI's window decides; an explicit --days renews earlier too (the
     * sooner of the two wins, and the line says which). Without ARI,
     * --days (default 30) alone. */
    int due;
    char why[128];
    int64_t days_left = (na - now) / 86400;
    int within_days = na - now <= o->days * 86400;
    if (ari == DP_OK) {
        char tb[40];
        due = now >= ws;
        snprintf(why, sizeof why, "ARI window opens %s", cli_time_str(ws, tb, sizeof tb));
        if (!due && o->days_given && within_days) {
            due = 2;
            snprintf(why, sizeof why,
                     "--days %ld: it expires in %lld days, before the ARI "
                     "window would renew it",
                     o->days, (long long)days_left);
        }
    } else {
        if (ari != DP_ERR_UNSUPPORTED)
            cli_error(CMD, "%s: renewalInfo: %s (using --days)", names[0], e.detail);
        due = within_days ? 2 : 0;
        snprintf(why, sizeof why, "%swithin %ld days of notAfter", due ? "" : "not ", o->days);
    }
    if (o->force && !due) {
        due = 1;
        snprintf(why, sizeof why, "--force");
    }
    json_t *line = o->co.json ? json_pack("{s:O}", "names", ns) : NULL;
    if (!due) {
        if (line)
            json_object_set_new(line, "status", json_string("not-due"));
        else
            printf("not yet due: %s (%s)\n", names[0], why);
        t->kept++;
    } else {
        char w[1600];
        int jit = 0;
        int issued;
        const char *how = o->force && !strcmp(why, "--force") ? "--force"
                          : due == 2                          ? why
                                                              : "ARI window open";
        if (issue_one(&oo, &s, s.acme, names, n, w, sizeof w, &jit, &issued, &e) == DP_OK) {
            if (line) {
                json_object_set_new(line, "status", json_string("renewed"));
                json_object_set_new(line, "certificate", json_string(w));
            } else {
                printf("renewed %s (%s)\n", names[0], how);
            }
            t->renewed++;
        } else {
            session_error(CMD, &s, names[0], &e);
            if (line) {
                json_object_set_new(line, "status", json_string("failed"));
                json_object_set_new(line, "error", session_problem_json(&s, &e));
            }
            t->failed++;
        }
        snprintf(why, sizeof why, "%s", how);
    }
    if (line) {
        json_object_set_new(line, "why", json_string(why));
        if (s.hook_failures) json_object_set_new(line, "deployHook", json_string("failed"));
        session_json_line(line);
    }
    t->hooks_failed += (size_t)s.hook_failures;
    session_close(&s);
}

int cmd_renew(int argc, char **argv)
{
    struct issue_opts o;
    int rc = issue_parse_opts(CMD, argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (optind < argc) return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    struct state st;
    if (state_open(CMD, o.co.state, &st)) return EXIT_USAGE;
    struct tally t = {0};
    /* The certificates in the state directory, then those written
     * elsewhere (--out), which issue recorded in lineages/. */
    char certs[1100];
    snprintf(certs, sizeof certs, "%s/certs", st.dir);
    DIR *d = opendir(certs);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char outdir[1400], mp[1500];
        snprintf(outdir, sizeof outdir, "%s/%s", certs, de->d_name);
        snprintf(mp, sizeof mp, "%s/meta.json", outdir);
        json_t *m = json_load_file(mp, 0, NULL);
        if (m || access(mp, F_OK) == 0) renew_dir(&o, outdir, m, mp, &t);
        json_decref(m);
    }
    if (d) closedir(d);
    snprintf(certs, sizeof certs, "%s/lineages", st.dir);
    d = opendir(certs);
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char lp[1400], mp[1500];
        snprintf(lp, sizeof lp, "%s/%s", certs, de->d_name);
        json_t *l = json_load_file(lp, 0, NULL);
        const char *outdir = json_string_value(json_object_get(l, "dir"));
        json_t *m = NULL;
        if (outdir) {
            snprintf(mp, sizeof mp, "%s/meta.json", outdir);
            m = json_load_file(mp, 0, NULL);
        }
        if (m) {
            renew_dir(&o, outdir, m, mp, &t);
        } else {
            /* Its files are gone or moved: said, and counted, never skipped. */
            json_t *ns = json_object_get(l, "names");
            const char *first = json_string_value(json_array_get(ns, 0));
            if (o.co.json)
                session_json_line(json_pack("{s:O,s:s,s:s,s:s}", "names", ns ? ns : json_null(),
                                            "status", "missing", "dir", outdir ? outdir : "",
                                            "lineage", lp));
            else
                cli_error(CMD,
                          "%s: its files are gone from %s (lineage %s): reissue it, or "
                          "remove the lineage",
                          first ? first : "?", outdir ? outdir : "?", lp);
            t.missing++;
        }
        json_decref(m);
        json_decref(l);
    }
    if (d) closedir(d);
    if (o.co.json)
        session_json_line(json_pack("{s:I,s:I,s:I,s:I,s:I}", "renewed", (json_int_t)t.renewed,
                                    "failed", (json_int_t)t.failed, "notDue", (json_int_t)t.kept,
                                    "missing", (json_int_t)t.missing, "hooksFailed",
                                    (json_int_t)t.hooks_failed));
    else
        printf("renew: %zu renewed, %zu failed, %zu not yet due, %zu missing%s\n", t.renewed,
               t.failed, t.kept, t.missing, t.hooks_failed ? ", a deploy hook failed" : "");
    return t.failed || t.missing || t.hooks_failed ? EXIT_INVALID : EXIT_VALID;
}
