/*
 * tests/fuzz/fuzz_keycred.c - libFuzzer target: msDS-KeyCredentialLink values.
 *
 * The input is read twice: as the value's text (DN-Binary or hex, as LDAP returns it), and as
 * the binary KEYCREDENTIALLINK_BLOB itself, hex-encoded into "B:<n>:<hex>:CN=x" so that the
 * fuzzer mutates the entries directly. Invariants of the result abort on violation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strongmap/strongmap.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct sm_keycred *k)
{
    struct sm_cert c;
    memset(&c, 0, sizeof(c));
    memcpy(c.spk_sha1, k->spk_sha1, sizeof(c.spk_sha1));
    bool has_key = k->key_kind != NULL;
    if (has_key != (k->spk_sha1[0] != '\0') || has_key != (k->spki_sha1[0] != '\0') ||
        (has_key && k->key_error) || (!has_key && k->key_material_sha256 && !k->key_error) ||
        sm_keycred_matches(k, &c) != has_key || k->valid == (k->invalid_reason != NULL) ||
        (k->logon_key && (!k->valid || !has_key || k->usage != SM_KEYCRED_USAGE_NGC)) ||
        (k->samba_usable && !has_key) || (has_key && (k->key_bits == 0 || k->exponent == 0)) ||
        k->key_bits > SM_MAX_KEYCRED_BITS || k->findings.n > SM_MAX_FINDINGS)
        abort();
    if (k->key_material_sha256 && k->key_id_ok && strcmp(k->key_id, k->key_material_sha256))
        abort();
}

static void parse(const char *p, size_t len)
{
    struct sm_keycred *k = NULL;
    struct sm_errinfo e;
    if (sm_keycred_parse(p, len, &k, &e) == 0) {
        check(k);
        k = sm_keycred_free(k);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    parse((const char *)data, size);

    if (size > SM_MAX_KEYCRED_VALUE / 2 - 32)
        return 0;
    char *v = malloc(2 * size + 32);
    if (!v)
        return 0;
    int n = sprintf(v, "B:%zu:", 2 * size);
    for (size_t i = 0; i < size; i++) {
        v[n++] = hex[data[i] >> 4];
        v[n++] = hex[data[i] & 15];
    }
    memcpy(v + n, ":CN=x", 5);
    parse(v, (size_t)n + 5);
    free(v);
    return 0;
}
