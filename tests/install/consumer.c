/* consumer.c: a program outside the project using the installed library:
 * computes a record for a domain and parses it back. */
#include <stdio.h>
#include <stdlib.h>

#include <dnspersist/dnspersist.h>

int main(void)
{
    struct dp_error e;
    char *uri = dp_hashuri_compute_alloc(DP_HASH_SHA256, "https://ca.example/h/", "example.com",
                                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                         "https://ca.example/acct/1", &e);
    if (!uri) {
        fprintf(stderr, "consumer: %s\n", e.detail);
        return 1;
    }
    printf("dnspersist %s: %s\n", DP_VERSION, uri);
    free(uri);
    return 0;
}
