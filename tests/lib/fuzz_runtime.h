/*
 * tests/lib/fuzz_runtime.h - the runtime the API's libFuzzer targets answer with: the demo
 * directory (examples/demo.ldif, or the file SM_FUZZ_LDIF names), one handle, no cache, so
 * that no state carries from one input to the next.
 */
#ifndef SM_TESTS_FUZZ_RUNTIME_H
#define SM_TESTS_FUZZ_RUNTIME_H

#include <stdbool.h>

struct api_runtime;

/*
 * A new runtime with that directory open, for the target @name (in messages). When the
 * directory does not open: with @required, abort (the target's checks expect verdicts); else
 * say so on stderr and leave it without one (its routes answer 503). Aborts when out of memory.
 */
struct api_runtime *fuzz_runtime(const char *name, bool required);

#endif
