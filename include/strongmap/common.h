/*
 * strongmap/common.h - error codes, limits and small shared types of libstrongmap.
 *
 * Every int-returning function of the engine returns 0 on success or a negative code: a
 * negative errno (-ENOMEM, -EINVAL, -E2BIG) or one of the SM_E_* codes below. sm_strerror()
 * maps both kinds to text.
 */
#ifndef STRONGMAP_COMMON_H
#define STRONGMAP_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Project-specific error codes, below the errno range (Knot style). */
enum sm_err {
    SM_OK = 0,
    SM_E_BASE = -1000,
    SM_E_FORMAT = -1001,   /**< input is not PEM, DER or base64 DER */
    SM_E_CERT = -1002,     /**< a certificate is structurally invalid */
    SM_E_TOO_MANY = -1003, /**< a count limit (certificates, SAN entries, ...) was exceeded */
    SM_E_TOO_BIG = -1004,  /**< a size limit was exceeded */
    SM_E_SID = -1005,      /**< text is not a SID */
    SM_E_EMPTY = -1006,    /**< input is empty */
    SM_E_UTF8 = -1007,     /**< text is not valid UTF-8 */
    SM_E_XML = -1008,      /**< XML is not well-formed (or nested too deep) */
    SM_E_XML_DTD = -1009,  /**< XML with a DOCTYPE or entity declaration (refused) */
    /* certificate requests (strongmap/csr.h) */
    SM_E_CSR = -1010,           /**< a certificate request (PKCS#10) is structurally invalid */
    SM_E_CSR_SIGNATURE = -1011, /**< a certificate request's self-signature does not verify */
    /* the directory (strongmap/dir.h) */
    SM_E_DIR_DOWN = -1100,        /**< no directory server reachable / deadline passed */
    SM_E_DIR_REFUSED = -1101,     /**< bind refused (credentials, TLS) */
    SM_E_DIR_LIMIT = -1102,       /**< a search returned more entries than allowed */
    SM_E_DIR_WOULD_BLOCK = -1103, /**< the handle answers from its caches only
                                     (sm_dir_set_cache_only()), and they could not answer */
};

/** Text for an error code (negative errno or SM_E_*); never NULL. */
const char *sm_strerror(int err);

/* Limits on every input the engine accepts. Each is a named constant kept here. */
#define SM_MAX_INPUT        (1024 * 1024) /**< bytes of certificate input (PEM/DER/base64) */
#define SM_MAX_CERTS        32            /**< certificates in one input */
#define SM_MAX_CERT_DER     (64 * 1024)   /**< bytes of one DER certificate */
#define SM_MAX_SAN          256           /**< GeneralName entries in one SAN extension */
#define SM_MAX_NAME_ATTRS   64            /**< attributes in one subject or issuer Name */
#define SM_MAX_EXTENSIONS   64            /**< extensions in one certificate */
#define SM_MAX_LIST         32            /**< EKUs, CRL URLs, AIA URLs kept per certificate */
#define SM_MAX_FINDINGS     32            /**< findings kept per object */
#define SM_MAX_ALTSEC_VALUE 4096          /**< bytes of one altSecurityIdentities value */
#define SM_MAX_ALTSEC_LIST  256           /**< values linted together */

/** Where the value at fault came from (struct sm_errinfo). */
enum sm_origin {
    SM_ORIGIN_INPUT = 0, /**< the input being read: a certificate, a request, a file's content */
    SM_ORIGIN_CONFIG,    /**< a configuration file (a directive's value, or the file itself) */
    SM_ORIGIN_ARGUMENT,  /**< a command-line argument */
};

/**
 * Caller-owned detail of an error, in the spirit of json_error_t: the one way the engine, the
 * daemon and the API report it. @text says it all in one line, ready to print; the other
 * members place it for a program. The engine writes @offset and @text only: a caller that
 * reads the others initialises them (SM_ERRINFO_INIT).
 */
struct sm_errinfo {
    long offset;           /**< byte offset in the input where the problem was found, or -1 */
    int line;              /**< line of the input or configuration file (1-based), or 0 */
    enum sm_origin origin; /**< where the value at fault came from */
    const char *field;     /**< the member, parameter or directive at fault (static storage or
                                the caller's, e.g. "mode"), or NULL */
    char text[512];        /**< one line, no trailing newline */
};

/** An empty struct sm_errinfo: no offset, line or field, origin input, no text. */
// clang-format off
#define SM_ERRINFO_INIT { .offset = -1 }
// clang-format on

/** Severity of a finding. */
enum sm_severity {
    SM_SEV_INFO = 0,
    SM_SEV_WARNING = 1,
    SM_SEV_ERROR = 2,
};

/** "info", "warning" or "error". */
const char *sm_severity_name(enum sm_severity sev);

/**
 * Something an administrator must know. @code is a stable identifier (static storage),
 * @message plain words, @fix the corrected value when one can be computed (or NULL).
 * Strings are owned by the object the finding belongs to.
 */
struct sm_finding {
    const char *code;
    enum sm_severity severity;
    const char *message;
    const char *fix;
};

/** A bounded list of findings; @truncated is set when more than SM_MAX_FINDINGS were raised. */
struct sm_findings {
    struct sm_finding v[SM_MAX_FINDINGS];
    size_t n;
    bool truncated;
};

/** True when the list holds a finding with this code. */
bool sm_findings_has(const struct sm_findings *f, const char *code);

#ifdef __cplusplus
}
#endif

#endif
