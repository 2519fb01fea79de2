/* ops.h — operational endpoints: GET /healthz (alive), GET /readyz (store answers),
 * GET /metrics (Prometheus text). */
#ifndef CONVO_API_OPS_H
#define CONVO_API_OPS_H

#include "app.h"

int ops_register(struct app *app);

#endif
