/* chats.h (api) — history, reports, blocks, admin and /stats routes (SPEC §3.3). */
#ifndef CONVO_API_CHATS_H
#define CONVO_API_CHATS_H

#include "app.h"

int api_chats_register(struct app *app);

#endif
