/* thread.c — names threads through prctl (Linux); elsewhere the name is left as it is. */
#include "util/thread.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif

void thread_set_name(const char *name) {
#ifdef __linux__
    prctl(PR_SET_NAME, name, 0, 0, 0);
#else
    (void)name;
#endif
}
