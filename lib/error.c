/*
 * lib/error.c - the text of every error code the engine returns (include/strongmap/common.h):
 * negative errno values and enum sm_err; and the library's version.
 */
#include <string.h>

#include <strongmap/strongmap.h>

const char *sm_strerror(int err)
{
    switch (err) {
    case SM_OK: return "success";
    case SM_E_FORMAT: return "input is not a PEM, DER or base64 certificate";
    case SM_E_CERT: return "certificate is malformed";
    case SM_E_TOO_MANY: return "too many items";
    case SM_E_TOO_BIG: return "input too large";
    case SM_E_SID: return "not a valid SID";
    case SM_E_EMPTY: return "input is empty";
    case SM_E_UTF8: return "text is not valid UTF-8";
    case SM_E_XML: return "XML is not well-formed";
    case SM_E_XML_DTD: return "XML with a DOCTYPE or entity declaration is refused";
    case SM_E_CSR: return "certificate request is malformed";
    case SM_E_CSR_SIGNATURE: return "certificate request's signature does not verify";
    case SM_E_DIR_DOWN: return "directory unavailable";
    case SM_E_DIR_REFUSED: return "directory refused the connection or bind";
    case SM_E_DIR_LIMIT: return "directory search returned too many entries";
    case SM_E_DIR_WOULD_BLOCK: return "the directory would have to be asked";
    default: break;
    }
    if (err < 0 && err > SM_E_BASE)
        return strerror(-err);
    return "unknown error";
}

const char *sm_version(void)
{
    return SM_VERSION;
}
