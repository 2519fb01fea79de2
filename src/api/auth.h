/* auth.h — /api/v1/auth/… routes (sign-up, log-in, refresh, log-out, providers). */
#ifndef CONVO_API_AUTH_H
#define CONVO_API_AUTH_H

#include "app.h"
#include "net/http.h"

/* Registers the routes and creates the log-in rate limiters (app->auth). 0 or -1. */
int api_auth_register(struct app *app);
/* Password guesses for one account — log-in, password change, account deletion — share one
 * limit (LOGIN_FAILS_PER_EMAIL per LOGIN_FAILS_WINDOW_MS, reset by a success). guess_start
 * answers 429 and returns -1 when the account is over it; otherwise it counts the attempt. */
int api_auth_guess_start(struct app *app, http_request *req, const char *email);
void api_auth_guess_succeeded(struct app *app, const char *email);

/* Frees app->auth (safe when register failed half-way). */
void api_auth_free(struct app *app);

#endif
