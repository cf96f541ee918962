/*
 * log.c: the event log (log.h). Text lines read as "time LEVEL event
 * key=value ..." with values quoted when they hold spaces; JSON lines are
 * one object with time, level and event first.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* Written once before the server's threads start, then read; the file
 * descriptor is swapped under the write lock by SIGHUP's reopen. Lines
 * are written under the read lock, so threads do not wait on each other
 * (a mutex held across write() was the CA's most contended lock): one
 * write() of a line of at most 4 KB is whole on a file opened O_APPEND, a
 * pipe (PIPE_BUF), a terminal or a stream socket with room. */
static struct {
    enum log_level level;
    int json;
    int fd;
    char path[1024];
    mode_t mode; /* the first file's: a reopened one gets it, whatever the umask is by then */
    pthread_rwlock_t rw;
} lg = {LOG_INFO, 0, 2, "", 0, PTHREAD_RWLOCK_INITIALIZER};

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int log_configure(const char *level, const char *format, const char *path, char *why, size_t cap)
{
    int lv = -1;
    for (int i = 0; level && i < 4; i++)
        if (!strcmp(level, level_names[i])) lv = i;
    if (level && lv < 0) {
        snprintf(why, cap, "--log-level '%s': use error, warn, info or debug", level);
        return -1;
    }
    if (format && strcmp(format, "text") && strcmp(format, "json")) {
        snprintf(why, cap, "--log-format '%s': use text or json", format);
        return -1;
    }
    if (path && *path) {
        int fd = open_log(path);
        if (fd < 0) {
            snprintf(why, cap, "--log-file %s: %s", path, strerror(errno));
            return -1;
        }
        struct stat st;
        lg.mode = fstat(fd, &st) == 0 ? st.st_mode & 0777 : 0640;
        if (lg.fd > 2) close(lg.fd);
        lg.fd = fd;
        snprintf(lg.path, sizeof lg.path, "%s", path);
    }
    if (lv >= 0) lg.level = (enum log_level)lv;
    if (format) lg.json = !strcmp(format, "json");
    return 0;
}

int log_reopen(void)
{
    if (!lg.path[0]) return 0;
    /* A file we create gets the first file's mode: the server sets umask
     * 077 after the first open (its keys), and without this a rotated log
     * would come back 0600 where it was 0640. One that is there already
     * (made by logrotate's "create") keeps its own. */
    int fd = open(lg.path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, lg.mode);
    if (fd >= 0 && fchmod(fd, lg.mode) != 0) { /* the umask's mode stays: still a log */
    }
    if (fd < 0 && errno == EEXIST) fd = open(lg.path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return -1;
    pthread_rwlock_wrlock(&lg.rw);
    int old = lg.fd;
    lg.fd = fd;
    pthread_rwlock_unlock(&lg.rw);
    if (old > 2) close(old);
    return 0;
}

void log_close(void)
{
    if (lg.fd > 2) close(lg.fd);
    lg.fd = 2;
    lg.path[0] = '\0';
}

int log_enabled(enum log_level lv)
{
    return lv <= lg.level;
}

/* A growing line; on overflow the rest is dropped, never the line. */
struct line {
    char b[4096];
    size_t n;
};

static void put(struct line *l, const char *s, size_t n)
{
    if (l->n + n > sizeof l->b - 2) n = sizeof l->b - 2 - l->n;
    memcpy(l->b + l->n, s, n);
    l->n += n;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

static void put_json_string(struct line *l, const char *s)
{
    put(l, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char e[8];
        if (*p == '"' || *p == '\\') {
            e[0] = '\\', e[1] = (char)*p;
            put(l, e, 2);
        } else if (*p < 0x20) {
            snprintf(e, sizeof e, "\\u%04x", *p);
            put(l, e, 6);
        } else {
            put(l, (const char *)p, 1);
        }
    }
    put(l, "\"", 1);
}

/* Text values: bare when they are one word, else quoted with \" and
 * control characters escaped, so a line stays one line whatever a client
 * sent. */
static void put_text_value(struct line *l, const char *s)
{
    if (*s && !strpbrk(s, " \"=\\")) {
        int plain = 1;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
            plain &= *p >= 0x20 && *p != 0x7f;
        if (plain) return puts_(l, s);
    }
    put_json_string(l, s);
}

/* time, level and event: the start of every line. */
static void head(struct line *l, enum log_level lv, const char *event)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[48];
    size_t tn = strftime(ts, sizeof ts - 8, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tn, sizeof ts - tn, ".%03dZ", (int)(tv.tv_usec / 1000) % 1000);
    if (lg.json) {
        puts_(l, "{\"time\":\"");
        puts_(l, ts);
        puts_(l, "\",\"level\":\"");
        puts_(l, level_names[lv]);
        puts_(l, "\",\"event\":");
        put_json_string(l, event);
    } else {
        puts_(l, ts);
        puts_(l, " ");
        puts_(l, level_names[lv]);
        puts_(l, " ");
        puts_(l, event);
    }
}

static void emit_line(int fd, struct line *l)
{
    if (lg.json) put(l, "}", 1);
    l->b[l->n++] = '\n';
    pthread_rwlock_rdlock(&lg.rw);
    ssize_t w = write(fd < 0 ? lg.fd : fd, l->b, l->n);
    pthread_rwlock_unlock(&lg.rw);
    (void)w;
}

void log_event(enum log_level lv, const char *event, ...)
{
    if (lv > lg.level) return;
    struct line l;
    l.n = 0;
    head(&l, lv, event);
    va_list ap;
    va_start(ap, event);
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        /* '#': a number, '?': a boolean ("true"/"false"): bare in JSON. */
        int bare = k[0] == '#' ||
                   (k[0] == '?' && (!strcmp(v ? v : "", "true") || !strcmp(v ? v : "", "false")));
        if (k[0] == '#' || k[0] == '?') k++;
        if (!v || !*v) continue;
        if (lg.json) {
            puts_(&l, ",");
            put_json_string(&l, k);
            puts_(&l, ":");
            if (bare)
                puts_(&l, v);
            else
                put_json_string(&l, v);
        } else {
            puts_(&l, " ");
            puts_(&l, k);
            puts_(&l, "=");
            put_text_value(&l, v);
        }
    }
    va_end(ap);
    emit_line(-1, &l);
}

void log_console(int fd, enum log_level lv, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    msg[strcspn(msg, "\n")] = '\0'; /* one line, whatever the caller wrote */
    if (!lg.json) {
        dprintf(fd, "dnspersist-ca: %s\n", msg);
        return;
    }
    struct line l;
    l.n = 0;
    head(&l, lv, lv <= LOG_ERROR ? "fatal" : "start");
    puts_(&l, ",\"msg\":");
    put_json_string(&l, msg);
    emit_line(fd, &l);
}
