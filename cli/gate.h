/*
 * cli/gate.h - `strongmap gate`: a CA's yes or no on a certificate it is about to issue (the
 * EJBCA External Command Certificate Validator's contract, or any CA hook run on an exit
 * status). The verdict comes from the engine (strongmap.c) or from a running strongmapd
 * (gate_ask(), POST /v1/verdict, whose answer gate_judge() reads); gate_verdict() says the
 * engine's verdict in the same line.
 */
#ifndef SM_CLI_GATE_H
#define SM_CLI_GATE_H

#include <stddef.h>

#include <strongmap/verdict.h>

#include "daemon_client.h"
#include "su_buf.h"

#define GATE_MAX_REPLY (4 * 1024 * 1024) /* bytes of the daemon's answer read */

enum gate_result {
    GATE_ALLOW = 0,   /* the certificate logs on with every profile */
    GATE_DENY,        /* some profile denies it */
    GATE_BAD_INPUT,   /* the certificate (or what was asked) was refused as input */
    GATE_UNAVAILABLE, /* no verdict: daemon or directory unreachable, refused, broken answer */
};

/** What the verdict is asked for, as the command line gave it (strings borrowed). */
struct gate_query {
    const char *profiles[SM_MAX_PROFILES]; /* --profile values, with their options */
    size_t n_profiles;
    const char *account, *mode, *backdating, *at; /* NULL: not given */
};

/**
 * Ask the strongmapd at @t for the verdict on the certificate in @cert (@len bytes as read:
 * PEM or base64 text, or DER): POST /v1/verdict with it as the body and @q in the query
 * string. One line (no newline) into @msg: the verdict's summary, or why there is none.
 */
enum gate_result gate_ask(const struct daemon_target *t, const struct gate_query *q,
                          const char *cert, size_t len, struct su_buf *msg);

/**
 * Judge the verdict document @doc (@len bytes, sm_json_verdict()'s): GATE_ALLOW when its
 * "outcome" is "allow" (every profile allows), GATE_DENY when "deny", GATE_UNAVAILABLE when it
 * is not such a document. One line into @msg: the outcome, the profiles, the subject and, for a
 * deny, the primary profile's Kerberos error, KDC event and first reason.
 */
enum gate_result gate_judge(const char *doc, size_t len, struct su_buf *msg);

/** The same judgement and line for the engine's verdict @v. */
enum gate_result gate_verdict(const struct sm_verdict *v, struct su_buf *msg);

#endif
