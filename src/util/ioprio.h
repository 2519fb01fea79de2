/* ioprio.h — lowers the disk priority of the calling thread, for threads whose writes nobody waits
 * for (SQLite checkpoints, message log folds), so that the fdatasync an acknowledgement waits for
 * is not queued behind them. Linux only, and only with an I/O scheduler that honours classes
 * (mq-deadline, bfq); elsewhere it does nothing.
 */
#ifndef CONVO_IOPRIO_H
#define CONVO_IOPRIO_H

/* Puts the calling thread in the idle I/O class. 0, or -1 when the kernel refused (ignored). */
int ioprio_background_thread(void);

#endif
