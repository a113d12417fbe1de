/* log.h -- leveled logging to stderr; the daemon's only output channel. */
#ifndef PAGEMAP_LOG_H
#define PAGEMAP_LOG_H

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* log_set_level -- messages above @level are dropped. */
void log_set_level(enum log_level level);

/* log_parse_level -- "error", "warn", "info" or "debug"; 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *ret);

/* log_msg -- one line "pagemapd: <level>: <message>" on stderr, with the
 * syslog priority prefix "<N>" when stderr is the journal. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
