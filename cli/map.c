/*
 * cli/map.c - `strongmap map add|remove` (cli/map.h, docs/write-back.md):
 *
 *   strongmap map add NAME --cert FILE [--type T] [--allow-foreign-sid] DIRECTORY
 *                 [--apply --audit-log FILE [--write-bind-dn DN --write-password-file F]]
 *   strongmap map remove NAME (--value V | --cert FILE [--type T]) DIRECTORY [--apply ...]
 *
 * A dry run by default: the plan is printed and nothing is written. --apply writes, through
 * common/mapaudit.c (intent line, modify, result line), with the write bind: --write-bind-dn
 * and --write-password-file over the same servers, else the directory flags' own bind. With
 * --apply the plan is made on the write handle too, so that it reads what it will change.
 */
#include <assert.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <strongmap/strongmap.h>

#include "map.h"
#include "mapaudit.h"
#include "su_buf.h"
#include "text.h"

#define EXIT_INPUT   1
#define EXIT_USAGE   2
#define EXIT_REFUSED 3
#define EXIT_DIR     4

void map_take_option(struct map_opts *m, int id, const char *arg)
{
    m->given = true;
    switch (id) {
    case MAP_OPT_APPLY: m->apply = true; break;
    case MAP_OPT_TYPE: m->type = arg; break;
    case MAP_OPT_VALUE: m->value = arg; break;
    case MAP_OPT_ALLOW_FOREIGN_SID: m->allow_foreign_sid = true; break;
    case MAP_OPT_AUDIT_LOG: m->audit_log = arg; break;
    case MAP_OPT_WRITE_BIND_DN: m->write_bind_dn = arg; break;
    case MAP_OPT_WRITE_PASSWORD_FILE: m->write_password_file = arg; break;
    default: break;
    }
}

static int say(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line on stderr (user input escaped); returns @status. */
static int say(int status, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fputs("strongmap: ", stderr);
    text_escaped(stderr, msg, strlen(msg));
    fputc('\n', stderr);
    return status;
}

static int load_cert(const char *path, struct sm_certs **ret)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    const char *name = f == stdin ? "stdin" : path;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct su_buf b;
    int r;

    if (!f)
        return say(EXIT_INPUT, "%s: %s", name, strerror(errno));
    su_buf_init(&b, NULL, NULL);
    r = su_buf_read(&b, f, SM_MAX_INPUT);
    if (f != stdin)
        fclose(f);
    if (r == 0)
        r = sm_certs_parse(b.p, b.len, NULL, ret, &e);
    su_buf_release(&b);
    if (r < 0)
        return say(EXIT_INPUT, "%s: %s", name,
                   e.text[0] ? e.text : sm_strerror(r == -EFBIG ? SM_E_TOO_BIG : r));
    assert(*ret); /* sm_certs_parse() sets it when it succeeds */
    if ((*ret)->n_certs != 1) {
        *ret = sm_certs_free(*ret);
        return say(EXIT_INPUT, "%s: one certificate is needed, not several", name);
    }
    return 0;
}

/* Open @d with the password in @password_file (may be NULL). */
static int open_dir(const struct opt_dir *d, const char *password_file, const char *what,
                    struct sm_dir **ret)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    char *password = NULL;
    int r;

    if (password_file && opt_read_password(password_file, NULL, NULL, &password, &e) < 0)
        return say(EXIT_INPUT, "%s: %s", what, e.text);
    r = opt_dir_open(d, password, false, ret, &e);
    opt_password_free(password);
    if (r < 0)
        return say(r == -EINVAL ? EXIT_USAGE : EXIT_INPUT, "%s: %s", what,
                   e.text[0] ? e.text : sm_strerror(r));
    return 0;
}

/* The status and the message for an engine error. */
static int engine_fail(int r, const struct sm_errinfo *e)
{
    const char *text = e->text[0] ? e->text : sm_strerror(r);

    if (r == SM_E_DIR_DOWN || r == SM_E_DIR_REFUSED || r == -EOPNOTSUPP)
        return say(EXIT_DIR, "directory: %s", text);
    return say(EXIT_INPUT, "%s", text);
}

static void print_text(const struct sm_mapwrite *m)
{
    const char *dn = m->account ? m->account->dn : "?";

    switch (m->outcome) {
    case SM_MAPWRITE_WOULD_ADD:
        text_printf(stdout, "dry run: would add %s to %s\n", m->value, dn);
        break;
    case SM_MAPWRITE_WOULD_REMOVE:
        text_printf(stdout, "dry run: would remove %s from %s\n", m->value, dn);
        break;
    case SM_MAPWRITE_PRESENT:
        text_printf(stdout, "nothing to do: %s holds %s already\n", dn, m->value);
        break;
    case SM_MAPWRITE_ABSENT:
        text_printf(stdout, "nothing to do: %s does not hold %s\n", dn, m->value);
        break;
    case SM_MAPWRITE_REFUSED:
        text_printf(stdout, "refused (%s): %s\n", m->refusal.code, m->refusal.message);
        for (size_t i = 0; i < m->refusal.n_holders; i++)
            text_printf(stdout, "  %s\n", m->refusal.holders[i]);
        break;
    case SM_MAPWRITE_ADDED: text_printf(stdout, "added %s to %s\n", m->value, dn); break;
    case SM_MAPWRITE_REMOVED: text_printf(stdout, "removed %s from %s\n", m->value, dn); break;
    default:
        text_printf(stdout, "failed: %s (the account: %s)\n", m->error ? m->error : "?",
                    m->after ? m->after : "unknown");
        break;
    }
    for (size_t i = 0; i < m->findings.n; i++)
        text_printf(stdout, "  %s: %s\n", sm_severity_name(m->findings.v[i].severity),
                    m->findings.v[i].message);
}

/* Who runs the command, for the audit log: the user, and the one sudo names. */
static void actor_name(char *buf, size_t size)
{
    const struct passwd *pw = getpwuid(geteuid());
    const char *sudo = getenv("SUDO_USER");

    if (pw && sudo && sudo[0])
        snprintf(buf, size, "%s (sudo by %.64s)", pw->pw_name, sudo);
    else if (pw)
        snprintf(buf, size, "%s", pw->pw_name);
    else
        snprintf(buf, size, "uid %lu", (unsigned long)geteuid());
}

/* Usage checks of map's operands and options; -1 to go on, else the exit status. */
static int check(int argc, char **argv, const struct map_cmd *c, struct sm_mapwrite_request *req)
{
    const struct map_opts *mo = c->map;

    if (argc != 2 || (strcmp(argv[0], "add") != 0 && strcmp(argv[0], "remove") != 0))
        return say(EXIT_USAGE, "map: add NAME or remove NAME (see --help)");
    req->op = strcmp(argv[0], "add") == 0 ? SM_MAPWRITE_ADD : SM_MAPWRITE_REMOVE;
    req->account = argv[1];
    if (c->other_opts)
        return say(EXIT_USAGE, "map: --account, --profile, --mode, --backdating and "
                               "--samba-anchors do not apply (NAME is the account)");
    if (!opt_dir_configured(c->dir))
        return say(EXIT_USAGE, "map needs a directory: --ldap-uri URI --ldap-base DN (or --ldif "
                               "FILE for a dry run)");
    if (req->op == SM_MAPWRITE_ADD && (mo->value || !c->cert_file))
        return say(EXIT_USAGE,
                   "map add computes the value from --cert FILE (--value is for remove)");
    if (req->op == SM_MAPWRITE_REMOVE && !!mo->value == !!c->cert_file)
        return say(EXIT_USAGE, "map remove takes --value VALUE or --cert FILE, one of them");
    if (req->op == SM_MAPWRITE_REMOVE && mo->allow_foreign_sid)
        return say(EXIT_USAGE, "--allow-foreign-sid is for map add");
    if (mo->value && mo->type)
        return say(EXIT_USAGE, "--type goes with --cert: a given value has its own type");
    if (mo->type && sm_mapwrite_type_parse(mo->type, &req->type) < 0)
        return say(EXIT_USAGE, "--type: X509IssuerSerialNumber, X509SKI, X509SHA1PublicKey or "
                               "X509IssuerSID");
    if (!mo->apply && (mo->audit_log || mo->write_bind_dn || mo->write_password_file))
        return say(EXIT_USAGE, "--audit-log, --write-bind-dn and --write-password-file go with "
                               "--apply");
    if (mo->apply && !mo->audit_log)
        return say(EXIT_USAGE, "--apply needs --audit-log FILE: every write is recorded");
    if (mo->apply && c->dir->ldif)
        return say(EXIT_USAGE, "--apply needs an LDAP directory: an LDIF export is read-only");
    if (!!mo->write_bind_dn != !!mo->write_password_file)
        return say(EXIT_USAGE, "--write-bind-dn and --write-password-file go together");
    req->value = mo->value;
    req->allow_foreign_sid = mo->allow_foreign_sid;
    return -1;
}

int cmd_map(int argc, char **argv, const struct map_cmd *c)
{
    const struct map_opts *mo = c->map;
    struct sm_mapwrite_request req = { .type = SM_MAP_ISSUER_SERIAL };
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_certs *certs = NULL;
    struct sm_dir *dir = NULL, *wdir = NULL;
    struct mapaudit *log = NULL;
    struct sm_mapwrite *m = NULL;
    char who_name[160], *json = NULL;
    int status, r;

    if ((status = check(argc, argv, c, &req)) >= 0)
        return status;
    if (c->cert_file && (status = load_cert(c->cert_file, &certs)) != 0)
        return status;
    req.cert = certs ? &certs->certs[0] : NULL;
    if (mo->apply) {
        struct opt_dir wd = *c->dir;
        if (mo->write_bind_dn) {
            wd.bind_dn = mo->write_bind_dn;
            wd.password_file = mo->write_password_file;
            wd.sasl_mech = NULL;
        }
        if (opt_dir_check(&wd, &e) < 0) {
            status = say(EXIT_USAGE, "write bind: %s", e.text);
            goto out;
        }
        if (mapaudit_open(mo->audit_log, &log, &e) < 0) {
            status = say(EXIT_INPUT, "--audit-log: %s", e.text);
            goto out;
        }
        if ((status = open_dir(&wd, wd.password_file, "write bind", &wdir)) != 0)
            goto out;
    } else if ((status = open_dir(c->dir, c->dir->password_file, "LDAP settings", &dir)) != 0) {
        goto out;
    }
    actor_name(who_name, sizeof(who_name));
    struct sm_mapwrite_actor who = { .kind = "cli", .name = who_name, .client = NULL };
    /* one write at a time in this process: none waits for the process's lock */
    r = mapaudit_run(log, wdir ? wdir : dir, wdir, &req, mo->apply, 0, &who, &m, &e);
    if (r < 0 && !m) {
        if (r == -ENOENT)
            status = say(EXIT_INPUT, "%s: no such account", req.account);
        else if (r == -EBUSY) /* another process held the audit log's lock: nothing was done */
            status = say(EXIT_INPUT, "--audit-log: %s", e.text);
        else
            status = engine_fail(r, &e);
        goto out;
    }
    if (c->text) {
        print_text(m);
    } else if (sm_json_mapwrite(m, mo->apply, c->json_flags, &json) == 0) {
        fputs(json, stdout);
        fputc('\n', stdout);
        free(json);
    } else {
        status = say(EXIT_INPUT, "out of memory");
        goto out;
    }
    fflush(stdout);
    if (r < 0)
        status =
            m->outcome == SM_MAPWRITE_FAILED ? engine_fail(r, &e) : say(EXIT_INPUT, "%s", e.text);
    else
        status = m->outcome == SM_MAPWRITE_REFUSED ? EXIT_REFUSED : 0;
out:
    sm_mapwrite_free(m);
    mapaudit_close(log);
    sm_dir_close(wdir);
    sm_dir_close(dir);
    sm_certs_free(certs);
    return status;
}
