/* errmsg.c -- one-line failure reasons, for callers that print them. */
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int
errmsg(char *err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, ERRMSG_MAX, fmt, ap);
		va_end(ap);
	}
	return ret;
}
