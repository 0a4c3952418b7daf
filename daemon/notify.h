/*
 * daemon/notify.h - the systemd notification protocol (sd_notify) without libsystemd.
 */
#ifndef SM_DAEMON_NOTIFY_H
#define SM_DAEMON_NOTIFY_H

/**
 * Send @state (e.g. "READY=1", "STOPPING=1", newline-separated assignments) to the service
 * manager at $NOTIFY_SOCKET. Returns 0 when sent or when $NOTIFY_SOCKET is unset, else a
 * negative errno. Does not log: the caller decides.
 */
int notify_send(const char *state);

#endif
