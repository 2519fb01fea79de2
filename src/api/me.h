/* me.h — /api/v1/me routes: profile read/edit, password change, account deletion. */
#ifndef CONVO_API_ME_H
#define CONVO_API_ME_H

#include "app.h"

int api_me_register(struct app *app);

#endif
