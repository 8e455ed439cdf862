/*
 * Turning exchanges into conversation fixture files: taking personal data out
 * of a request and its response, naming a turn, and writing a fixture
 * atomically. voxcartd's recorder and `voxcart replay` (--import, --update)
 * both use it, so a recording made either way carries the same placeholders,
 * reads the same and replays the same way.
 */
#ifndef VOXCART_RECORDING_H
#define VOXCART_RECORDING_H

#include <stddef.h>

#include "voxcart/common.h"

struct json_object;

/* The placeholders written in place of real values; `voxcart replay` substitutes them. */
#define VX_REDACT_USER             "%USER%"
#define VX_REDACT_DEVICE           "%DEVICE_ID%"
#define VX_REDACT_REQUEST_ID       "%REQUEST_ID%"
#define VX_REDACT_NOW              "%NOW%"
#define VX_REDACT_SKILL_ID         "%SKILL_ID%"
#define VX_REDACT_ACCESS_TOKEN     "%ACCESS_TOKEN%"
#define VX_REDACT_API_ACCESS_TOKEN "%API_ACCESS_TOKEN%"
#define VX_REDACT_CONSENT_TOKEN    "%CONSENT_TOKEN%"
#define VX_REDACT_OTHER            "%REDACTED%"

/*
 * Replaces, in place, in request: user, device, person and unit IDs, access,
 * API and consent tokens, the request ID, request.timestamp, the skill ID, and
 * every address, name, e-mail and phone field; session IDs stay. Every real
 * value found is then also replaced wherever it occurs in a string of the
 * request or of response (may be NULL): a name spoken back, a user ID echoed.
 */
int vx_redact_exchange(struct json_object *request, struct json_object *response, struct vx_err *e);

/* The name a recorded turn gets: "LaunchRequest", "IntentRequest OrderIntent". */
void vx_recording_label(struct json_object *request, char *out, size_t outsz);

/*
 * Writes doc as readable JSON (pretty, spaced, no escaped slashes, a final
 * newline) to a temporary file next to path, syncs it and renames it over
 * path, so a reader sees the old file or the new one, never half of one. A
 * new file gets mode (0600 for recordings); an existing one keeps its own.
 */
int vx_json_write_atomic(const char *path, struct json_object *doc, unsigned mode,
                         struct vx_err *e);

#endif
