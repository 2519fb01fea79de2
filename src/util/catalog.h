/* catalog.h — the fixed lists of SPEC §3.3: the 12 job categories (id, Korean and English
 * names) and the 5 careers. Read-only data shared by api/ (validation, /categories) and rt/
 * (matching queues).
 */
#ifndef CONVO_CATALOG_H
#define CONVO_CATALOG_H

#include <stddef.h>

struct catalog_category {
    const char *id;
    const char *ko;
    const char *en;
};

extern const struct catalog_category catalog_categories[];
extern const size_t catalog_category_count;
extern const char *const catalog_careers[];
extern const size_t catalog_career_count;

/* Index of the category/career id, or -1. */
int catalog_category_index(const char *id);
int catalog_career_index(const char *id);

#endif
