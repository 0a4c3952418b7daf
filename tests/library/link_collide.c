/*
 * tests/library/link_collide.c - a program with functions of its own named like libstrongmap's
 * internal helpers (arena_new; su_hex_decode, su_buf_init and su_jsonw_init of support/),
 * linked against libstrongmap.a. It must link (no "multiple definition"), and the library must go
 * on using its own helpers: parsing an msDS-KeyCredentialLink and an altSecurityIdentities value
 * (which allocate with arena_new and decode with su_hex_decode inside the library) succeeds,
 * and none of the program's functions, which count their calls and fail, is called by the
 * library.
 */
#include <stdio.h>
#include <string.h>

#include <strongmap/strongmap.h>

/* the program's own functions; the signatures differ from the library's on purpose */
int arena_new(int x);
int su_hex_decode(const char *s);
int su_buf_init(void);
int su_jsonw_init(void);

static int calls;

int arena_new(int x)
{
    calls++;
    return x + 1;
}

int su_hex_decode(const char *s)
{
    calls++;
    return s ? -1 : -2;
}

int su_buf_init(void)
{
    calls++;
    return -1;
}

int su_jsonw_init(void)
{
    calls++;
    return -1;
}

int main(void)
{
    /* a DN-Binary value: 4 hex digits, then the owner's DN */
    static const char keycred[] = "B:4:0002:CN=Alice,DC=example,DC=com";
    static const char altsec[] = "X509:<I>DC=com,DC=example,CN=CA<SR>0a1b2c";
    struct sm_errinfo err = { 0 };
    struct sm_keycred *k = NULL;
    struct sm_altsec *v = NULL;
    int r, fails = 0;

    if (arena_new(1) != 2 || su_hex_decode("00") != -1 || su_buf_init() != -1 ||
        su_jsonw_init() != -1 || calls != 4) {
        fprintf(stderr, "the program's own functions were not called\n");
        return 1;
    }
    calls = 0;

    r = sm_keycred_parse(keycred, strlen(keycred), &k, &err);
    if (r < 0) {
        fprintf(stderr, "sm_keycred_parse: %s (%s)\n", sm_strerror(r), err.text);
        fails++;
    }
    r = sm_altsec_parse(altsec, strlen(altsec), &v, &err);
    if (r < 0) {
        fprintf(stderr, "sm_altsec_parse: %s (%s)\n", sm_strerror(r), err.text);
        fails++;
    }
    if (calls != 0) {
        fprintf(stderr, "libstrongmap called the program's functions %d times\n", calls);
        fails++;
    }
    sm_keycred_free(k);
    sm_altsec_free(v);
    if (fails)
        return 1;
    printf("linked with libstrongmap %s: its helpers stay its own\n", sm_version());
    return 0;
}
