/* rt.h — the real-time layer (SPEC §4): GET /ws, matching, chats, presence. What the rest of the
 * process may ask of it: start (restore active chats, register /ws), the safety actions that
 * REST handlers trigger (a block or a report ends the chat, a ban closes the sockets), the live
 * counts for /stats, and the orderly stop.
 */
#ifndef CONVO_RT_H
#define CONVO_RT_H

#include <jansson.h>
#include <stdint.h>

#include "app.h"

/* Creates the node's state, registers GET /ws and restores active chats from the store
 * (blocking until they are loaded: call before the server accepts). 0 or -1. */
int rt_start(struct app *app);

/* blocker blocked blocked: never matched again; their active chat together ends
 * ("blocked" for the blocker, "partner_left" for the other). */
void rt_on_block(struct app *app, int64_t blocker, int64_t blocked);
/* blocker lifted a block: from their next match.start on, the two may meet again. */
void rt_on_unblock(struct app *app, int64_t blocker, int64_t blocked);
/* reporter reported the partner of chat_id: the chat ends ("reported" / "partner_left"). */
void rt_on_report(struct app *app, int64_t reporter, int64_t chat_id);
/* user was banned: out of the queue, their chat ends, every socket closes 4403. */
void rt_on_ban(struct app *app, int64_t user_id);

/* {"online", "waiting": {category: n}, "chatting"} (new reference). */
json_t *rt_stats(struct app *app);

/* Stops timers; sockets are closed by the HTTP server's shutdown (1001). done fires when the
 * rt handles are closed; then rt_free. */
void rt_shutdown(struct app *app, void (*done)(void *arg), void *arg);
void rt_free(struct app *app);

#endif
