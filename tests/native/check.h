/* The native tests' one way to check: count, report a failure with its line, go on, so a
 * run prints every broken expectation and main() ends with one summary. */
#ifndef HVMON_NATIVE_CHECK_H
#define HVMON_NATIVE_CHECK_H

#include <stdio.h>

static int checks, failures;

#define CHECK(cond)                                                           \
    do {                                                                      \
        checks++;                                                             \
        if (!(cond)) {                                                        \
            failures++;                                                       \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
        }                                                                     \
    } while (0)

#endif
