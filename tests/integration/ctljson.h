/* ctljson.h -- reading pagemapctl's --json output in tests. The names are
 * short: they stand inside assertions. Each fails the test on a missing
 * field or output that is not JSON. */
#ifndef PAGEMAP_TEST_CTLJSON_H
#define PAGEMAP_TEST_CTLJSON_H

#include <stdint.h>

#include <json-c/json.h>

/* jparse -- the JSON pagemapctl printed on @out when it exited @rv, which
 * must be 0 (else the test fails with @err); release with
 * json_object_put(). */
json_object *jparse(int rv, const char *out, const char *err);

/* jget -- the member @key of the object @j. */
json_object *jget(json_object *j, const char *key);

/* jint -- the member @key of @j as an integer. */
int64_t jint(json_object *j, const char *key);

/* jrows -- the array member @key of @j (a listing's rows). */
json_object *jrows(json_object *j, const char *key);

/* jstr -- the member @key of @j as a string (owned by @j). */
const char *jstr(json_object *j, const char *key);

#endif
