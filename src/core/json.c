/*
 * json-c lookups that tolerate whatever a client sent: a missing member, a
 * member of another type, or no object at all all read as NULL.
 */
#include "voxcart/json.h"

#include <json-c/json.h>

struct json_object *vx_json_get(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!o || !json_object_is_type(o, json_type_object))
        return NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *vx_json_get_str(struct json_object *o, const char *key)
{
    struct json_object *v = vx_json_get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}
