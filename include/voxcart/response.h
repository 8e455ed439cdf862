/*
 * Building a skill response: speech (SSML), reprompt, card, directives, session
 * attributes and shouldEndSession, rendered straight into a byte buffer without
 * a JSON tree. Limits from the platform (8000 characters of speech or card text,
 * 120 KB for the whole response) are enforced here and reported as warnings.
 */
#ifndef VOXCART_RESPONSE_H
#define VOXCART_RESPONSE_H

#include <stddef.h>

#include "voxcart/common.h"

#define VX_SPEECH_MAX   8000
#define VX_RESPONSE_MAX (120 * 1024)

enum vx_card_type { VX_CARD_NONE, VX_CARD_SIMPLE, VX_CARD_PERMISSIONS };

/* What the platform would complain about later; set by vx_response_render. */
enum vx_response_warning {
    VX_RW_SPEECH_TOO_LONG = 1 << 0,
    VX_RW_CARD_TOO_LONG = 1 << 1,
    VX_RW_TOO_LARGE = 1 << 2,
    VX_RW_QUESTION_WITHOUT_REPROMPT = 1 << 3,
    VX_RW_BAD_SSML = 1 << 4,
};

struct vx_response {
    struct vx_buf speech;   /* SSML fragment, already escaped */
    struct vx_buf reprompt; /* SSML fragment, already escaped */
    enum vx_card_type card;
    struct vx_buf card_title; /* raw text */
    struct vx_buf card_text;  /* raw text */
    struct vx_buf directives; /* rendered JSON objects joined by ',' */
    struct vx_buf attributes; /* rendered JSON object for sessionAttributes, or empty */
    int end_session;          /* 1 end, 0 keep open, -1 leave the field out */
    int silent;               /* no response object content at all (SessionEndedRequest) */
};

void vx_response_init(struct vx_response *r);
void vx_response_release(struct vx_response *r);

/* Appends plain text (escaped for SSML); consecutive calls are joined with a space. */
int vx_response_say(struct vx_response *r, const char *text);
int vx_response_reprompt(struct vx_response *r, const char *text);
/* Appends a trusted SSML fragment as is. */
int vx_response_say_ssml(struct vx_response *r, const char *ssml);
int vx_response_card(struct vx_response *r, const char *title, const char *text);
int vx_response_card_permissions(struct vx_response *r, const char *scope);
/* Adds one directive given as a complete JSON object text. */
int vx_response_directive(struct vx_response *r, const char *json);

/* Escapes text for SSML (& < > " ') and appends it to b. */
int vx_ssml_escape(struct vx_buf *b, const char *text);
/* Escapes text as a JSON string body (no quotes) and appends it to b. */
int vx_json_escape(struct vx_buf *b, const char *text, size_t len);
/* Appends "k":"v" (v escaped; null when v is NULL or ""), after a comma unless first. */
int vx_json_member(struct vx_buf *b, const char *k, const char *v, int first);
/* Checks an SSML document for balanced tags and known entities; 0 when well formed. */
int vx_ssml_check(const char *ssml, size_t len);

/* Renders the whole response document into out; *warnings (optional) gets VX_RW_* bits. */
int vx_response_render(const struct vx_response *r, struct vx_buf *out, int *warnings);

#endif
