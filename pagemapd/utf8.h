/* utf8.h -- strict UTF-8 checks for strings that cross a trust boundary
 * (pure: no allocation, no logging). */
#ifndef PAGEMAP_UTF8_H
#define PAGEMAP_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* What is wrong with a string; UTF8_OK when nothing is. */
enum utf8_fault {
	UTF8_OK = 0,
	UTF8_INVALID, /* not UTF-8: a stray, overlong, surrogate, > U+10FFFF
		       * or cut sequence */
	UTF8_CONTROL, /* a C0 or C1 control character, or DEL */
	UTF8_NUL,     /* a NUL byte inside the given length */
};

/* utf8_next -- decode the sequence at @s (@len > 0 bytes) into *ret_cp.
 * Returns its length (1..4), or 0 when @s does not start a well-formed
 * sequence (*ret_cp is then untouched). */
size_t utf8_next(const uint8_t *s, size_t len, uint32_t *ret_cp);

/* utf8_is_control -- whether @cp is NUL, a C0 or C1 control, or DEL. */
int utf8_is_control(uint32_t cp);

/* utf8_check -- the first fault of @s[0..len) and, through @ret_at (may be
 * NULL), the byte offset where it starts; UTF8_OK when the string is
 * well-formed UTF-8 free of controls and NUL. */
enum utf8_fault utf8_check(const char *s, size_t len, size_t *ret_at);

/* utf8_fault_str -- a few words for @f ("invalid UTF-8", ...). */
const char *utf8_fault_str(enum utf8_fault f);

/* utf8_sanitize -- @s[0..len) into @dst (@cap > 0 bytes, always
 * NUL-terminated) with every malformed byte and every control character
 * replaced by U+FFFD; a sequence that would not fit whole is dropped, so
 * the result is valid UTF-8 even when cut short. Returns the bytes written
 * without the NUL. */
size_t utf8_sanitize(char *dst, size_t cap, const char *s, size_t len);

/* utf8_sanitized_len -- the bytes utf8_sanitize() needs for @s[0..len),
 * without the NUL. */
size_t utf8_sanitized_len(const char *s, size_t len);

#endif
