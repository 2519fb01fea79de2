/* catalog.h (api) — GET /api/v1/categories: the job categories with Korean and English names. */
#ifndef CONVO_API_CATALOG_H
#define CONVO_API_CATALOG_H

#include "app.h"

int api_catalog_register(struct app *app);

#endif
