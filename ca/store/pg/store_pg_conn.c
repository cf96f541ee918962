/*
 * store_pg_conn.c: the PostgreSQL store's connection helpers, shared by
 * its files (store_pg.h): statements run with their errors logged, the
 * transaction verbs, columns read, and the pool's connections taken and
 * given back. They call nothing of the store's other files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg.h"

PGresult *pg_run(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
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

int pg_begin(PGconn *c)
{
    return pg_exec(c, "BEGIN", 0, NULL) < 0 ? -1 : 0;
}

int pg_commit(PGconn *c)
{
    return pg_exec(c, "COMMIT", 0, NULL) < 0 ? -1 : 0;
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
