/*
 * tests/fuzz/fuzz_events.c - libFuzzer target: the KDC event reader (XML through expat, Event
 * Viewer's text, UTF-16), the explanation without a directory and its JSON document.
 */
#include <stdint.h>
#include <stdlib.h>

#include <strongmap/strongmap.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sm_kdc_events *ev = NULL;
    struct sm_events_explanation *x = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    char *json = NULL;

    if (sm_kdc_events_parse((const char *)data, size, &ev, &e) != 0)
        return 0;
    if (sm_events_explain(NULL, ev, 0, &x, &e) == 0 && sm_json_events(x, 0, &json) == 0)
        free(json);
    sm_events_explanation_free(x);
    sm_kdc_events_free(ev);
    return 0;
}
