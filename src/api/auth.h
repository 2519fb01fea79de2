/* auth.h — /api/v1/auth/… routes (sign-up, log-in, refresh, log-out, providers). */
#ifndef CONVO_API_AUTH_H
#define CONVO_API_AUTH_H

#include "app.h"

/* Registers the routes and creates the log-in rate limiters (app->auth). 0 or -1. */
int api_auth_register(struct app *app);
/* Frees app->auth (safe when register failed half-way). */
void api_auth_free(struct app *app);

#endif
