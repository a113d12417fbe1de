/* ctljson.c -- reading pagemapctl's --json output in tests. */
#include "ctljson.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

json_object *
jparse(int rv, const char *out, const char *err)
{
	json_object *j;

	if (rv != 0)
		fail_msg("pagemapctl exited %d: %s", rv, err);
	j = json_tokener_parse(out);
	if (j == NULL)
		fail_msg("not JSON: %s", out);
	return j;
}

json_object *
jget(json_object *j, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(j, key, &v))
		fail_msg("no field %s in %s", key,
			 json_object_to_json_string(j));
	return v;
}

int64_t
jint(json_object *j, const char *key)
{
	return json_object_get_int64(jget(j, key));
}

const char *
jstr(json_object *j, const char *key)
{
	return json_object_get_string(jget(j, key));
}

json_object *
jrows(json_object *j, const char *key)
{
	json_object *v = jget(j, key);

	if (!json_object_is_type(v, json_type_array))
		fail_msg("%s is not a list in %s", key,
			 json_object_to_json_string(j));
	return v;
}
