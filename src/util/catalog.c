/* catalog.c — the job categories and careers of SPEC §3.3. */
#include "util/catalog.h"

#include <string.h>

/* One category a line. */
/* clang-format off */
const struct catalog_category catalog_categories[] = {
    {"frontend", "프론트엔드", "Frontend"},
    {"backend", "백엔드", "Backend"},
    {"fullstack", "풀스택", "Full-stack"},
    {"mobile", "모바일", "Mobile"},
    {"ai_data", "AI·데이터", "AI / Data"},
    {"devops", "데브옵스·인프라", "DevOps / Infra"},
    {"security", "보안", "Security"},
    {"game", "게임", "Game"},
    {"embedded", "임베디드", "Embedded"},
    {"qa", "QA·테스트", "QA / Testing"},
    {"pm", "PM·기획", "PM / Planning"},
    {"design", "디자인", "Design"},
};
/* clang-format on */
const size_t catalog_category_count = sizeof catalog_categories / sizeof catalog_categories[0];

const char *const catalog_careers[] = {"student", "jobseeker", "junior", "mid", "senior"};
const size_t catalog_career_count = sizeof catalog_careers / sizeof catalog_careers[0];

int catalog_category_index(const char *id) {
    for (size_t i = 0; id && i < catalog_category_count; i++)
        if (strcmp(catalog_categories[i].id, id) == 0)
            return (int)i;
    return -1;
}

int catalog_career_index(const char *id) {
    for (size_t i = 0; id && i < catalog_career_count; i++)
        if (strcmp(catalog_careers[i], id) == 0)
            return (int)i;
    return -1;
}
