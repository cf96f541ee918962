/* test_txt.c: lib/txt.c, character-strings (R2). */
#include <stdlib.h>

#include "check.h"
#include "dnspersist/dnspersist.h"

static void R2_split_at_255(void)
{
    char v[600];
    for (size_t i = 0; i < sizeof v; i++)
        v[i] = (char)('a' + i % 26);
    struct dp_span s[4];
    CHECK(dp_txt_count(0) == 1 && dp_txt_count(255) == 1 && dp_txt_count(256) == 2);
    CHECK(dp_txt_split(v, 600, s, 4) == 3);
    CHECK(s[0].len == 255 && s[1].len == 255 && s[2].len == 90);
    CHECK(s[1].ptr == v + 255 && s[2].ptr == v + 510);
    CHECK(dp_txt_split(v, 600, s, 2) == 0); /* too few slots: nothing */
    CHECK(dp_txt_split(v, 255, s, 1) == 1 && s[0].len == 255);
}

static void R2_join_concatenates_without_separator(void)
{
    struct dp_span parts[] = {{"authority.example;accounturi=http://ca:4000", 43},
                              {"/acme/reg/1", 11}};
    struct dp_txt_rr rr = {parts, 2};
    char buf[128];
    size_t n;
    CHECK(dp_txt_join(&rr, buf, sizeof buf, &n, NULL) == DP_OK);
    CHECK_STR(buf, "authority.example;accounturi=http://ca:4000/acme/reg/1");
    CHECK(n == 54);
    CHECK(dp_txt_join(&rr, buf, 20, &n, NULL) == DP_ERR_TOOBIG);
}

static void R2_presentation_quotes_and_escapes(void)
{
    char *p = dp_txt_presentation_alloc("a\"b\\c\x01", 6);
    CHECK_STR(p, "\"a\\\"b\\\\c\\001\"");
    free(p);
    char v[300];
    memset(v, 'x', sizeof v);
    p = dp_txt_presentation_alloc(v, 300);
    CHECK(p && strlen(p) == 300 + 5 && p[256] == '"' && p[257] == ' ' && p[258] == '"');
    free(p);
}

int main(void)
{
    RUN(R2_split_at_255);
    RUN(R2_join_concatenates_without_separator);
    RUN(R2_presentation_quotes_and_escapes);
    return check_report();
}
