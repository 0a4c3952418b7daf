/*
 * tests/lib/fake_mhd.c - the libmicrohttpd calls of a request, recorded (fake_mhd.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_mhd.h"

void fake_mhd_set_header(struct MHD_Connection *c, const char *name, const char *value)
{
    if (!value)
        return;
    if (c->n_req == FAKE_MHD_HEADERS_MAX)
        abort();
    c->req_names[c->n_req] = name;
    c->req_values[c->n_req] = value;
    c->n_req++;
}

const char *MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                        const char *key)
{
    if (kind != MHD_HEADER_KIND || !c || !key)
        return NULL;
    for (unsigned i = 0; i < c->n_req; i++)
        if (strcasecmp(c->req_names[i], key) == 0)
            return c->req_values[i];
    return NULL;
}

int MHD_get_connection_values(struct MHD_Connection *c, enum MHD_ValueKind kind,
                              MHD_KeyValueIterator iterator, void *iterator_cls)
{
    int n = 0;

    if (!c || kind != MHD_HEADER_KIND)
        return 0;
    for (unsigned i = 0; i < c->n_req; i++) {
        n++;
        if (iterator &&
            iterator(iterator_cls, MHD_HEADER_KIND, c->req_names[i], c->req_values[i]) != MHD_YES)
            break;
    }
    return n;
}

const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *c,
                                                        enum MHD_ConnectionInfoType info_type, ...)
{
    if (!c || info_type != MHD_CONNECTION_INFO_CLIENT_ADDRESS || !c->client_addr)
        return NULL;
    c->info.client_addr = (struct sockaddr *)(uintptr_t)c->client_addr;
    return &c->info;
}

static struct MHD_Response *response_new(size_t len, void *buf, MHD_ContentReaderFreeCallback cb)
{
    struct MHD_Response *r = calloc(1, sizeof(*r));

    if (r) {
        r->buf = buf;
        r->len = len;
        r->free_cb = cb;
        r->refs = 1;
    }
    return r;
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
                                                     enum MHD_ResponseMemoryMode mode)
{
    if (mode != MHD_RESPMEM_PERSISTENT)
        abort(); /* reply.c only passes static texts this way; the fake does not copy */
    return response_new(size, buffer, NULL);
}

struct MHD_Response *
MHD_create_response_from_buffer_with_free_callback(size_t size, void *buffer,
                                                   MHD_ContentReaderFreeCallback crfc)
{
    return response_new(size, buffer, crfc);
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *r, const char *header,
                                        const char *content)
{
    struct fake_mhd_header *h;

    if (!r || !header || !content || strpbrk(header, "\r\n:") || strpbrk(content, "\r\n"))
        abort(); /* a header name or value with CR/LF would split the response */
    if (r->n_headers == FAKE_MHD_HEADERS_MAX)
        abort();
    h = &r->headers[r->n_headers];
    h->name = strdup(header);
    h->value = strdup(content);
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        return MHD_NO;
    }
    r->n_headers++;
    return MHD_YES;
}

const char *fake_mhd_response_header(const struct MHD_Response *r, const char *name)
{
    for (unsigned i = 0; r && i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *c, unsigned int status,
                                   struct MHD_Response *r)
{
    if (!c || !r)
        abort();
    if (++c->queued > 1)
        return MHD_NO; /* a connection takes one response */
    c->status = status;
    c->response = r;
    r->refs++;
    return MHD_YES;
}

void MHD_destroy_response(struct MHD_Response *r)
{
    if (!r || --r->refs > 0)
        return;
    if (r->free_cb)
        r->free_cb(r->buf);
    for (unsigned i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r);
}

void fake_mhd_clear(struct MHD_Connection *c)
{
    MHD_destroy_response(c->response);
    memset(c, 0, sizeof(*c));
}
