/*
 * test_perspective_link.c: a remote perspective links no VA, RA, front-end,
 * store or CRL code (issue 23). This binary is built from the perspective
 * and the layers it may use only (tests/CMakeLists.txt lists them): should
 * perspective.c or check/ ever call into va/ or store/, it no longer links
 * and the build fails. Run, it checks the entry point answers a bad command
 * line with its usage (exit 2).
 */
#include "check.h"
#include "perspective.h"

int main(void)
{
    char a0[] = "perspective-credentials", a1[] = "--bogus";
    char *argv[] = {a0, a1, NULL};
    CHECK(perspective_credentials(2, argv) == 2);
    return check_report();
}
