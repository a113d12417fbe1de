/* errmsg.h -- one-line failure reasons, for callers that print them. */
#ifndef PAGEMAP_ERRMSG_H
#define PAGEMAP_ERRMSG_H

#define ERRMSG_MAX 256u /* size of an error message buffer */

/* errmsg -- format a reason into @err (ERRMSG_MAX bytes; NULL: none
 * wanted) and return @ret, so that a failure path is one statement. */
int errmsg(char *err, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
