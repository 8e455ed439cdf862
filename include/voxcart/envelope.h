/*
 * The request envelope: the JSON body of a skill request turned into a typed
 * struct. All strings point into the parsed document held by the struct
 * (jscan.h) and live until vx_request_release(); the body must live as long.
 * Anything the pipeline relies on is checked here, so later stages never meet
 * a missing field they need.
 */
#ifndef VOXCART_ENVELOPE_H
#define VOXCART_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"

#include "voxcart/jscan.h"

enum vx_req_type {
    VX_REQ_LAUNCH,
    VX_REQ_INTENT,
    VX_REQ_SESSION_ENDED,
    VX_REQ_CAN_FULFILL,
    VX_REQ_CONNECTIONS_RESPONSE,
    VX_REQ_SKILL_EVENT,
    VX_REQ_OTHER
};

enum vx_er_status { VX_ER_NONE, VX_ER_MATCH, VX_ER_NO_MATCH };

/* The interfaces of context.System.device.supportedInterfaces that voxcart acts on. */
enum vx_iface {
    VX_IFACE_APL = 1 << 0, /* Alexa.Presentation.APL: a screen that shows APL documents */
};

#define VX_MAX_SLOTS 8

struct vx_slot {
    const char *name;
    const char *value;         /* what was heard, NULL when the slot is empty */
    const char *resolved_id;   /* entity resolution ID on ER_SUCCESS_MATCH, else NULL */
    const char *resolved_name; /* canonical name on match */
    enum vx_er_status er;
};

struct vx_request {
    struct vx_jdoc doc;
    const char *body; /* the raw bytes parsed (the caller's), for whoever needs the whole tree */
    size_t body_len;
    enum vx_req_type type;
    const char *type_name; /* request.type as sent */
    const char *request_id;
    const char *locale;
    /* request.timestamp: an ISO 8601 string, or a whole number of epoch milliseconds
       (timestamp_is_number); any other number is kept as written in timestamp */
    const char *timestamp;
    int64_t timestamp_ms;
    int timestamp_is_number;
    const char *application_id;
    const char *user_id;
    const char *access_token;
    const char *device_id;
    unsigned interfaces; /* VX_IFACE_* of the device's supportedInterfaces */
    const char *api_endpoint;
    const char *session_id; /* NULL for sessionless requests (Connections.Response may have one) */
    int session_new;
    const struct vx_jnode *session_attributes; /* may be NULL */
    /* IntentRequest / CanFulfillIntentRequest */
    const char *intent_name;
    const char *confirmation_status; /* NONE, CONFIRMED, DENIED */
    const char *dialog_state;
    struct vx_slot slots[VX_MAX_SLOTS];
    size_t nslots;
    /* SessionEndedRequest */
    const char *end_reason;
    const char *error_type;
    /* permissions.scopes["payments:autopay_consent"].status: 1 GRANTED, 0 DENIED, -1 absent */
    int autopay_consent;
    /* Connections.Response */
    const char *conn_name;
    const char *conn_status_code;
    const char *conn_status_message;
    const char *conn_token;
    const struct vx_jnode *conn_payload;
};

/*
 * Parses body into r. Returns 0, or VX_EPARSE with a message that names the
 * offending field ("request.type is missing"). On error r holds nothing to free.
 */
int vx_request_parse(const char *body, size_t len, struct vx_request *r, struct vx_err *e);
void vx_request_release(struct vx_request *r);

/* The slot called name, or NULL. */
const struct vx_slot *vx_request_slot(const struct vx_request *r, const char *name);
/* The language part of the locale ("de" for "de-DE"), written into out (at least 3 bytes). */
void vx_request_lang(const struct vx_request *r, char *out, size_t outsz);

#endif
