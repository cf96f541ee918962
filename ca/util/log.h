/*
 * log.h: the CA's event log (requests, validations, errors), one line per
 * event, as text or JSON (--log-format json, for log shippers), to standard
 * error or a file that SIGHUP reopens (log rotation).
 *
 * The log is process-wide, as a daemon's log is: every layer writes to it
 * and none owns it. Each line is one write(2), so lines from concurrent
 * threads never interleave.
 */
#ifndef CA_LOG_H
#define CA_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* level: error|warn|info|debug; format: text|json; path NULL or "" for
 * standard error. 0, or -1 with why. */
int log_configure(const char *level, const char *format, const char *path, char *why, size_t cap);
/* Reopens the file (after rotation); a no-op on standard error. */
int log_reopen(void);
int log_enabled(enum log_level lv);
void log_close(void);

/* One event: key, value pairs of strings, ended by NULL. A key that
 * starts with '#' carries a number, one with '?' a boolean ("true" or
 * "false"): both written bare in JSON. A NULL or empty value leaves the
 * pair out. */
void log_event(enum log_level lv, const char *event, ...) __attribute__((sentinel));
/* A line for the operator at start-up (fd 1) or a fatal error (fd 2): as
 * text "dnspersist-ca: MESSAGE"; with --log-format json an object with
 * event "start" (or "fatal" at LOG_ERROR) and msg, so everything the
 * server writes parses as JSON. Always written, whatever the level. */
void log_console(int fd, enum log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
