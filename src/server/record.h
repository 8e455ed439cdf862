/*
 * The recorder: with record.dir set, voxcartd writes every verified request and
 * its response into a conversation fixture, one file per session, with
 * personal data replaced by placeholders (README, "Conversation fixtures").
 */
#ifndef VOXCART_SERVER_RECORD_H
#define VOXCART_SERVER_RECORD_H

#include "server.h"

struct vx_request;
struct vx_janitor_approval;

/*
 * Creates the directory if needed, checks that it is writable and says in the
 * log that recording is on and where. Nothing happens when recording is off.
 * record_turn calls it on first use when start-up did not.
 */
int record_init(const struct vx_config *cfg, struct vx_err *e);

/*
 * Appends req and the reply in out to the fixture of req's session. A failure
 * is logged and never changes the answer.
 */
void record_turn(const struct server *s, const struct vx_request *req,
                 const struct server_reply *out);

/*
 * The janitor settled a pay link the buyer approved (a vx_janitor_approved_fn, arg the
 * server): the recording that showed the link gets the approve step. Nothing happens when
 * recording is off or no recording showed it.
 */
void record_approval(const struct vx_janitor_approval *a, void *arg);

#endif
