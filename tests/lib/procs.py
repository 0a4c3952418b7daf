"""tests/lib/procs.py - processes and ports for the test harnesses (python3 stdlib only).

- spawn(): Popen whose child gets SIGKILL from the kernel when the harness dies (setpriv
  --pdeathsig), so that nothing outlives a harness killed outright (ctest's TIMEOUT).
- stop_process(): signal, reap, SIGKILL after a timeout.
- free_ports(): loopback TCP ports free right now.
- pid_gone(): has a process that is not our child ended (a zombie counts as ended)?
"""

import shutil
import signal
import socket
import subprocess

SETPRIV = shutil.which("setpriv")


def spawn(cmd, **kw):
    """Popen @cmd so that it gets SIGKILL when this process dies (call from the main thread:
    the death signal follows the thread that forked)."""
    if SETPRIV:
        cmd = [SETPRIV, "--pdeathsig", "KILL", "--"] + list(cmd)
    return subprocess.Popen(cmd, **kw)


def stop_process(proc, sig=signal.SIGTERM, timeout=10.0):
    """Signal @proc (by its pid) and reap it; SIGKILL after @timeout. Returns its status."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def free_ports(n):
    """@n distinct loopback TCP ports free right now."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def pid_gone(pid):
    """True when process @pid has ended: no such process, or a zombie waiting for its parent
    (init, for a daemon that detached) to reap it."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rpartition(")")[2].split()[:1]
    except OSError:
        return True
    return not state or state[0] in ("Z", "X")
