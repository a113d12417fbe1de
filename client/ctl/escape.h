/* escape.h -- strings from the daemon made safe to print (pure): no
 * control character reaches a terminal, no invalid UTF-8 reaches JSON. */
#ifndef PAGEMAPCTL_ESCAPE_H
#define PAGEMAPCTL_ESCAPE_H

/* escape_text -- @s (NULL reads as "") as a new string for a terminal:
 * printable UTF-8 as it is; each control character (C0, C1, DEL) and each
 * byte of a malformed sequence as a C-style \xNN escape of its bytes.
 * NULL only when out of memory. */
char *escape_text(const char *s);

/* escape_json -- @s (NULL reads as "") as a new string that is valid
 * UTF-8: each byte of a malformed sequence, DEL and each C1 control become
 * U+FFFD; C0 controls stay (a JSON writer escapes them itself). NULL only
 * when out of memory. */
char *escape_json(const char *s);

#endif
