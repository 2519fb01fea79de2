/* icebreakers.h — the opening questions shown at the top of a new chat (SPEC §4 ACTIVE_CHAT's
 * icebreaker {ko, en}), written for people in or heading into IT jobs. Read-only static data:
 * nothing here allocates, and no question touches salary, politics, religion, age or looks.
 */
#ifndef CONVO_ICEBREAKERS_H
#define CONVO_ICEBREAKERS_H

#include <stddef.h>
#include <stdint.h>

struct icebreaker {
    const char *ko; /* Korean, friendly 해요체 */
    const char *en;
};

extern const struct icebreaker icebreakers[];
extern const size_t icebreaker_count;

/* The same seed (e.g. the chat id) always gives the same question: seed % icebreaker_count. */
const struct icebreaker *icebreaker_pick(uint64_t seed);

#endif
