/*
 * tests/lib/fake_mhd.h - libmicrohttpd as api/reply.c sees it for one request, for tests that
 * call the API's handlers without a server (tests/unit/test_api_handlers.c, the libFuzzer targets
 * tests/fuzz/fuzz_request.c and fuzz_authz.c).
 *
 * fake_mhd.c defines the eight libmicrohttpd functions reply.c and admit.c call for a request:
 * the request header lookup and walk, the peer's address, the two ways to create a response,
 * adding a response header, queueing and destroying. A program linking it with strongmap_api gets
 * these instead of the library's (its own definitions come first), so req_header(), the reply_*()
 * calls and the problem documents run as in the daemon; everything else of libmicrohttpd stays the
 * real one. The connection records what was queued on it, as the real one does: every
 * MHD_queue_response() call is counted, the first response is kept (a reference, with copies of its
 * headers) and a second one is refused (MHD_NO), as libmicrohttpd refuses a second response on a
 * connection.
 *
 * Contract breaks abort(): a response header value holding CR or LF (it would split the
 * response), a buffer passed with a memory mode other than MHD_RESPMEM_PERSISTENT (reply.c
 * passes only static texts that way, and the fake does not copy), more headers than
 * FAKE_MHD_HEADERS_MAX.
 */
#ifndef SM_TESTS_FAKE_MHD_H
#define SM_TESTS_FAKE_MHD_H

#include <stddef.h>

#include <microhttpd.h>

#define FAKE_MHD_HEADERS_MAX 16

struct fake_mhd_header {
    char *name, *value;
};

struct MHD_Response {
    char *buf; /* the body, @len bytes (not NUL-terminated) */
    size_t len;
    MHD_ContentReaderFreeCallback free_cb; /* called on @buf when the last reference goes */
    unsigned refs;                         /* the creator's, and the connection's once queued */
    struct fake_mhd_header headers[FAKE_MHD_HEADERS_MAX]; /* owned copies, in the order added */
    unsigned n_headers;
};

struct MHD_Connection {
    /* The request's headers (borrowed; a NULL value: absent): set with fake_mhd_set_header(). */
    const char *req_names[FAKE_MHD_HEADERS_MAX], *req_values[FAKE_MHD_HEADERS_MAX];
    unsigned n_req;
    /* The peer's address (a struct sockaddr, borrowed; NULL: unknown), which
       MHD_get_connection_info() gives for MHD_CONNECTION_INFO_CLIENT_ADDRESS. */
    const void *client_addr;
    union MHD_ConnectionInfo info; /* what MHD_get_connection_info() returned last */
    /* What was queued: every MHD_queue_response() call counts; the first is kept. */
    unsigned queued;
    unsigned status;               /* of the first response queued */
    struct MHD_Response *response; /* the first response queued (a reference), or NULL */
};

/** Give the request the header @name: @value (both borrowed; @value NULL: none). */
void fake_mhd_set_header(struct MHD_Connection *c, const char *name, const char *value);

/** The value of the response header @name (case-insensitive), or NULL. */
const char *fake_mhd_response_header(const struct MHD_Response *r, const char *name);

/** Drop the connection's reference to its response and clear it for another request. */
void fake_mhd_clear(struct MHD_Connection *c);

#endif
