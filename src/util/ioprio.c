/* ioprio.c — the idle I/O class for background threads (see ioprio.h), through ioprio_set(2),
 * which glibc does not wrap. */
#include "util/ioprio.h"

#include <sys/syscall.h>
#include <unistd.h>

#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_CLASS_IDLE  3
#define IOPRIO_WHO_PROCESS 1 /* with a thread id: that thread only */

int ioprio_background_thread(void) {
#ifdef SYS_ioprio_set
    long tid = syscall(SYS_gettid);
    return syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, (int)tid,
                   IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT) == 0
               ? 0
               : -1;
#else
    return -1;
#endif
}
