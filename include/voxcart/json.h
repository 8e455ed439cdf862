/*
 * Small json-c helpers every module that reads JSON uses: a member of an object,
 * or NULL when o is not an object or has no such member; and the same for a
 * string member of the right type.
 */
#ifndef VOXCART_JSON_H
#define VOXCART_JSON_H

struct json_object;

struct json_object *vx_json_get(struct json_object *o, const char *key);
const char *vx_json_get_str(struct json_object *o, const char *key);

#endif
