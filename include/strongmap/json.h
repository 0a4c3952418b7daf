/*
 * strongmap/json.h - the JSON documents the CLI prints and the daemon serves.
 *
 * Each function returns a NUL-terminated JSON text in *@ret_json (free with free()) and 0, or
 * -ENOMEM. The documents are described in openapi/strongmapd.yaml.
 */
#ifndef STRONGMAP_JSON_H
#define STRONGMAP_JSON_H

#include <strongmap/altsecid.h>
#include <strongmap/cert.h>
#include <strongmap/sid.h>
#include <strongmap/verdict.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sm_json_flags {
    SM_JSON_PRETTY = 1 << 0, /**< indented output for people */
};

/** {"certificates": [...], "errors": [...]} for a parsed input. */
int sm_json_certs(const struct sm_certs *certs, unsigned flags, char **ret_json);

/** {"values": [...]} for linted altSecurityIdentities values (@cert may be NULL). */
int sm_json_altsec(struct sm_altsec *const *values, size_t n, const struct sm_cert *cert,
                   unsigned flags, char **ret_json);

/** {"sid": ..., "extension_der_base64": ..., "extension_der_hex": ..., "san_uri": ...}. */
int sm_json_sid(const struct sm_sid *sid, unsigned flags, char **ret_json);

/** The verdict document (POST /v1/verdict, strongmap verdict). */
int sm_json_verdict(const struct sm_verdict *v, unsigned flags, char **ret_json);

/** The account status document (GET /v1/accounts/{name}, strongmap account). */
int sm_json_account_status(const struct sm_account_status *s, unsigned flags, char **ret_json);

#ifdef __cplusplus
}
#endif

#endif
