/* thread.h — small helpers for the few threads CONVO runs beside its event loop. */
#ifndef CONVO_UTIL_THREAD_H
#define CONVO_UTIL_THREAD_H

/* Names the calling thread (at most 15 bytes are kept), so that top -H, perf and
 * /proc/PID/task/TID/comm tell the store, folder and checkpointer threads apart. */
void thread_set_name(const char *name);

#endif
