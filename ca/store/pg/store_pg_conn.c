/*
 * store_pg_conn.c: the PostgreSQL store's connection helpers, shared by
 * its files (store_pg.h): statements run with their errors logged, the
 * transaction verbs, columns read, and the pool's connections taken and
 * given back. They call nothing of the store's other files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-events.h>

#include "log.h"
#include "store_pg.h"

/* Statements prepared on one connection. Each connection prepares a
 * statement the first time it runs it and runs the prepared one after, so
 * PostgreSQL parses and plans it once per connection, not per call.
 * libpq's event procedure owns the list: it is emptied when the
 * connection is reset (the server forgot them) and freed with it. */
#define PG_PREPARED_MAX 96
struct pg_prepared {
    size_t n;
    int off; /* the server forgot one: a transaction pooler, so never again */
    char *sql[PG_PREPARED_MAX];
};

static void prepared_clear(struct pg_prepared *pp)
{
    for (size_t i = 0; i < pp->n; i++)
        free(pp->sql[i]);
    pp->n = 0;
}

static int pg_event(PGEventId id, void *info, void *pass)
{
    (void)pass;
    if (id == PGEVT_REGISTER) {
        PGconn *c = ((PGEventRegister *)info)->conn;
        struct pg_prepared *pp = calloc(1, sizeof *pp);
        return pp && PQsetInstanceData(c, pg_event, pp) ? 1 : (free(pp), 0);
    }
    if (id == PGEVT_CONNRESET || id == PGEVT_CONNDESTROY) {
        PGconn *c = id == PGEVT_CONNRESET ? ((PGEventConnReset *)info)->conn
                                          : ((PGEventConnDestroy *)info)->conn;
        struct pg_prepared *pp = PQinstanceData(c, pg_event);
        if (pp) prepared_clear(pp);
        if (pp && id == PGEVT_CONNDESTROY) free(pp);
    }
    return 1;
}

int pg_prepare_on(PGconn *c)
{
    return PQregisterEventProc(c, pg_event, "dnspersist prepared statements", NULL) ? 0 : -1;
}

/* The statement's name on c, prepared now if it is new there; NULL to run
 * it unprepared (no list, a full list, or the prepare failed). */
static const char *prepared(PGconn *c, const char *sql, int n, char name[16])
{
    struct pg_prepared *pp = PQinstanceData(c, pg_event);
    if (!pp || pp->off) return NULL;
    for (size_t i = 0; i < pp->n; i++)
        if (!strcmp(pp->sql[i], sql)) {
            snprintf(name, 16, "dp%u", (unsigned)i);
            return name;
        }
    if (pp->n == PG_PREPARED_MAX) return NULL;
    snprintf(name, 16, "dp%u", (unsigned)pp->n);
    char *copy = strdup(sql);
    PGresult *r = copy ? PQprepare(c, name, sql, n, NULL) : NULL;
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) { /* run unprepared: it fails again there, logged, if it is the statement */
        free(copy);
        return NULL;
    }
    pp->sql[pp->n++] = copy;
    return name;
}

static PGresult *run_once(PGconn *c, const char *sql, int n, const char *const *params)
{
    char buf[16];
    const char *name = prepared(c, sql, n, buf);
    PGresult *r = name ? PQexecPrepared(c, name, n, params, NULL, NULL, 0)
                       : PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (name && pg_state_is(r, "26000")) {
        /* Forgotten by the server: a pooler in transaction mode (PgBouncer
         * before 1.21) runs each statement on any of its sessions. */
        struct pg_prepared *pp = PQinstanceData(c, pg_event);
        prepared_clear(pp);
        pp->off = 1;
        PQclear(r);
        r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    }
    return r;
}

/* A session the server ended while it sat in the pool (a restart, a
 * fail-over, an idle timeout) fails its next statement. Outside a
 * transaction that statement runs once more on a new session: each one
 * run alone here (or a BEGIN) is safe to repeat if it did reach the server
 * (reads; inserts of new ids or ON CONFLICT; updates guarded by the status
 * they change), the repeat then finding its own work done. 1 when c was
 * idle before the statement and is cut now: then it is reset, and the
 * caller runs the statement again. */
static int reset_if_cut(PGconn *c, int was_idle)
{
    if (!was_idle || PQstatus(c) != CONNECTION_BAD) return 0;
    PQreset(c);
    return 1;
}

PGresult *pg_run(PGconn *c, const char *sql, int n, const char *const *params)
{
    int idle = PQtransactionStatus(c) == PQTRANS_IDLE;
    PGresult *r = run_once(c, sql, n, params);
    if (reset_if_cut(c, idle)) {
        PQclear(r);
        r = run_once(c, sql, n, params);
    }
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !pg_state_is(r, "23505"))
        log_event(LOG_ERROR, "store", "msg", r ? PQresultErrorMessage(r) : PQerrorMessage(c), "sql",
                  sql, NULL);
    return r;
}

int pg_state_is(const PGresult *r, const char *sqlstate)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return s && !strcmp(s, sqlstate);
}

long pg_exec(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = pg_run(c, sql, n, params);
    long rows = r && PQresultStatus(r) == PGRES_COMMAND_OK ? atol(PQcmdTuples(r)) : -1;
    if (rows < 0 && pg_state_is(r, "23505")) rows = -2; /* unique violation */
    PQclear(r);
    return rows;
}

/* The verbs go as simple queries: one message each, nothing to prepare. */
static int verb(PGconn *c, const char *sql)
{
    int idle = PQtransactionStatus(c) == PQTRANS_IDLE;
    PGresult *r = PQexec(c, sql);
    if (reset_if_cut(c, idle)) { /* a BEGIN on a cut session */
        PQclear(r);
        r = PQexec(c, sql);
    }
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    /* A COMMIT of a transaction that had failed succeeds as a ROLLBACK. */
    if (ok && !strcmp(sql, "COMMIT") && strcmp(PQcmdStatus(r), "COMMIT")) {
        log_event(LOG_ERROR, "store", "msg", "the transaction had failed: rolled back", "sql", sql,
                  NULL);
        ok = 0;
    } else if (!ok)
        log_event(LOG_ERROR, "store", "msg", r ? PQresultErrorMessage(r) : PQerrorMessage(c), "sql",
                  sql, NULL);
    PQclear(r);
    return ok ? 0 : -1;
}

int pg_begin(PGconn *c)
{
    return verb(c, "BEGIN");
}

int pg_commit(PGconn *c)
{
    return verb(c, "COMMIT");
}

void pg_rollback(PGconn *c)
{
    PQclear(PQexec(c, "ROLLBACK"));
}

void pg_col(const PGresult *r, int row, int i, char *out, size_t cap)
{
    snprintf(out, cap, "%s", PQgetisnull(r, row, i) ? "" : PQgetvalue(r, row, i));
}

enum st_status pg_col_status(const PGresult *r, int row, int i)
{
    return PQgetisnull(r, row, i) ? ST_UNKNOWN : st_status_parse(PQgetvalue(r, row, i));
}

/* Waits for a free connection; a broken one is reset before use. */
PGconn *pg_take(struct pg_store *p)
{
    pthread_mutex_lock(&p->mu);
    for (;;) {
        for (size_t i = 0; i < p->n; i++)
            if (!p->busy[i]) {
                p->busy[i] = 1;
                PGconn *c = p->conns[i];
                pthread_mutex_unlock(&p->mu);
                if (PQstatus(c) != CONNECTION_OK) PQreset(c);
                return c;
            }
        pthread_cond_wait(&p->cv, &p->mu);
    }
}

void pg_give(struct pg_store *p, PGconn *c)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n; i++)
        if (p->conns[i] == c) p->busy[i] = 0;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
