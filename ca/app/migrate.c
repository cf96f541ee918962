/*
 * migrate.c: dnspersist-ca migrate --from sqlite:PATH --to postgresql://...
 * moves an embedded CA's state (accounts and every key they had, orders,
 * authorizations, certificates and revocations, the CA's settings, rate
 * limit counters) into an empty PostgreSQL database, in one transaction:
 * all of it or nothing. Account ids and URLs do not change, so published
 * dns-persist-01 records keep validating. It refuses a source a running
 * CA holds (the data directory's lock, as a second CA would be refused):
 * that CA's later writes would be lost.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "migrate.h"
#include "store_impl.h"

/* Each table: the SQLite query (in creation order, so PostgreSQL's
 * sequences keep it) and the INSERT taking its columns in order. */
static const struct {
    const char *name, *select, *insert;
    int n;
} tables[] = {
    {"accounts",
     "SELECT id,status,jwk,thumb,contact,did_persist,created FROM accounts ORDER BY rowid",
     "INSERT INTO accounts(id,status,jwk,thumb,contact,did_persist,created) "
     "VALUES($1,$2,$3,$4,$5,$6,$7)",
     7},
    {"account_keys", "SELECT account,thumb FROM account_keys ORDER BY seq",
     "INSERT INTO account_keys(account,thumb) VALUES($1,$2)", 2},
    {"orders",
     "SELECT id,account,status,expires,identifiers,authzs,error,cert,replaces,profile FROM orders "
     "ORDER BY rowid",
     "INSERT INTO orders(id,account,status,expires,identifiers,authzs,error,cert,replaces,profile) "
     "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
     10},
    {"authzs",
     "SELECT id,account,ord,identifier,wildcard,status,expires,token,ch_type,"
     "CASE ch_status WHEN 'processing' THEN 'pending' ELSE ch_status END,ch_validated,ch_error,"
     "perspectives FROM authzs ORDER BY rowid",
     "INSERT INTO authzs(id,account,ord,identifier,wildcard,status,expires,token,ch_type,"
     "ch_status,ch_validated,ch_error,perspectives) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,"
     "$13)",
     13},
    {"certs",
     "SELECT id,account,ord,serial,pem,revoked,reason,revoked_at,replaced_by,created,issuer FROM "
     "certs "
     "ORDER BY rowid",
     "INSERT INTO certs(id,account,ord,serial,pem,revoked,reason,revoked_at,replaced_by,created,"
     "issuer) "
     "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
     11},
    {"meta", "SELECT key,value FROM meta", "INSERT INTO meta(key,value) VALUES($1,$2)", 2},
    {"rate_limits", "SELECT key,tat FROM rate_limits",
     "INSERT INTO rate_limits(key,tat) VALUES($1,$2)", 2},
    {"blocked_keys", "SELECT thumb,serial,blocked FROM blocked_keys",
     "INSERT INTO blocked_keys(thumb,serial,blocked) VALUES($1,$2,$3)", 3},
};

static int copy(sqlite3 *db, PGconn *pg, size_t t, long *rows)
{
    sqlite3_stmt *st = NULL;
    *rows = 0;
    if (sqlite3_prepare_v2(db, tables[t].select, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "dnspersist-ca: migrate: %s: %s\n", tables[t].name, sqlite3_errmsg(db));
        return -1;
    }
    int step, rc = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *v[16];
        for (int i = 0; i < tables[t].n; i++) {
            const unsigned char *c = sqlite3_column_text(st, i);
            v[i] = c ? (const char *)c : "";
        }
        PGresult *r = PQexecParams(pg, tables[t].insert, tables[t].n, NULL, v, NULL, NULL, 0);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "dnspersist-ca: migrate: %s row %ld: %s", tables[t].name, *rows + 1,
                    PQerrorMessage(pg));
            rc = -1;
        }
        PQclear(r);
        (*rows)++;
    }
    if (rc == 0 && step != SQLITE_DONE) {
        fprintf(stderr, "dnspersist-ca: migrate: reading %s: %s\n", tables[t].name,
                sqlite3_errmsg(db));
        rc = -1;
    }
    sqlite3_finalize(st);
    return rc;
}

static int ok_result(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    int ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
    return ok;
}

int ca_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, 0, 'f'}, {"to", required_argument, 0, 't'}, {0, 0, 0, 0}};
    const char *from = NULL, *to = NULL;
    int o;
    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'f')
            from = optarg;
        else if (o == 't')
            to = optarg;
        else
            from = to = NULL, optind = argc + 1;
    }
    if (!from || !to || strncmp(from, "sqlite:", 7) || !store_is_url(to) || optind > argc) {
        fprintf(stderr, "usage: dnspersist-ca migrate --from sqlite:DIR/ca.sqlite --to "
                        "postgresql://USER@HOST:PORT/DB\n");
        return 2;
    }
    /* The lock app/main.c takes, in the database's directory, held until
     * the copy is done so no CA starts on the source meanwhile either. */
    char lock[4200];
    const char *slash = strrchr(from + 7, '/');
    snprintf(lock, sizeof lock, "%.*s/lock", slash ? (int)(slash - (from + 7)) : 1,
             slash ? from + 7 : ".");
    int lock_fd = open(lock, O_RDONLY | O_CLOEXEC);
    if (lock_fd >= 0 && flock(lock_fd, LOCK_EX | LOCK_NB)) {
        fprintf(stderr,
                "dnspersist-ca: migrate: %s: a dnspersist-ca is running on this data directory: "
                "stop it first (what it writes after the copy would be lost)\n",
                from + 7);
        close(lock_fd);
        return 1;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(from + 7, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "dnspersist-ca: migrate: cannot open %s: %s\n", from + 7,
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        if (lock_fd >= 0) close(lock_fd);
        return 1;
    }
    /* Only a current embedded schema: an older one is migrated by starting
     * the CA on it once. */
    sqlite3_stmt *vs = NULL;
    int v = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &vs, NULL) == SQLITE_OK &&
        sqlite3_step(vs) == SQLITE_ROW)
        v = sqlite3_column_int(vs, 0);
    sqlite3_finalize(vs);
    char why[600];
    struct store *s = NULL;
    int rc = 1;
    if (v < 12) { /* certs.issuer, the last column copied, came with 12 */
        fprintf(stderr,
                "dnspersist-ca: migrate: %s is at schema version %d: start this dnspersist-ca on "
                "it once (it migrates the file), stop it, then migrate\n",
                from + 7, v);
        goto out;
    }
    /* The target's schema, made as any instance makes it. */
    if (!(s = store_open(to, 0, why, sizeof why))) {
        fprintf(stderr, "dnspersist-ca: migrate: %s\n", why);
        goto out;
    }
    store_close(s);
    PGconn *pg = PQconnectdb(to);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "dnspersist-ca: migrate: cannot connect: %s",
                pg ? PQerrorMessage(pg) : "out of memory\n");
        PQfinish(pg);
        goto out;
    }
    PGresult *r =
        PQexec(pg, "SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM meta)");
    int empty = r && PQresultStatus(r) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    if (!empty) {
        fprintf(stderr, "dnspersist-ca: migrate: the target database already holds a CA: refusing "
                        "to mix two\n");
        PQfinish(pg);
        goto out;
    }
    long counts[sizeof tables / sizeof tables[0]];
    int failed = !ok_result(pg, "BEGIN");
    for (size_t t = 0; !failed && t < sizeof tables / sizeof tables[0]; t++)
        failed = copy(db, pg, t, &counts[t]) != 0;
    if (!failed && !ok_result(pg, "COMMIT")) failed = 1;
    if (failed) {
        ok_result(pg, "ROLLBACK");
        fprintf(stderr, "dnspersist-ca: migrate: nothing was moved\n");
    } else {
        printf("dnspersist-ca: migrated");
        for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
            printf("%s %ld %s", t ? "," : "", counts[t], tables[t].name);
        printf("\n");
        rc = 0;
    }
    PQfinish(pg);
out:
    sqlite3_close(db);
    if (lock_fd >= 0) close(lock_fd);
    return rc;
}
