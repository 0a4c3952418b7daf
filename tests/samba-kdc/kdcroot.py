#!/usr/bin/env python3
"""The Debian 13 (trixie) root the samba-kdc tier runs Samba in, cached between runs.

    kdcroot.py [--cache DIR] [--rebuild]      make (or check) the cached root, print its facts

Debian 12's Samba (4.17) predates strong certificate mapping; trixie-backports has Samba 4.24+.
The root is made once with debootstrap (minbase) and `apt-get install -t trixie-backports` of the
AD DC packages with MIT Kerberos' kinit and PKINIT plugin and faketime, then reused:

    DIR/root         the root (never written by a test run: runs mount an overlay over it)
    DIR/stamp.json   written last: recipe, package versions, build times, disk used
    DIR/lock         flock: one build or run at a time (bounded wait)
    DIR/run.state    the mounts and Samba process group of the run in progress; a run that was
                     killed (SIGKILL) leaves it behind and the next run cleans up after it

The root is valid when the stamp's recipe is this file's RECIPE, every package of the stamp is
installed in the root at the stamp's version and `samba -V` runs there. Anything else (no stamp,
another recipe, a partial or broken root) is rebuilt from scratch in DIR/root.new, which replaces
DIR/root only when complete. A stamp older than MAX_AGE_DAYS is refreshed the same way (so the
tier follows trixie-backports); when that refresh fails (no network) the old root is kept and
the failure is reported.

Only the standard library; needs root, debootstrap, chroot, mount.
"""

import argparse
import datetime
import errno
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

DEFAULT_CACHE = "/var/cache/strongmap-tests/samba-kdc"
MIRROR = "http://deb.debian.org/debian"
SUITE = "trixie"
BACKPORTS = "trixie-backports"
# From trixie-backports (-t): the AD DC. kinit, its PKINIT plugin and faketime come from trixie
# (or from backports when it has a newer version).
PACKAGES = [
    "samba", "samba-ad-dc", "samba-ad-provision", "samba-dsdb-modules", "winbind", "ldb-tools",
    "python3-samba", "krb5-user", "krb5-pkinit", "faketime",
]
# whose versions the stamp records (and a run reports)
VERSIONED = ["samba", "samba-ad-dc", "python3-samba", "libldb2", "krb5-user", "krb5-pkinit",
             "faketime"]
MIN_SAMBA = "2:4.24~"
RECIPE = {"version": 1, "mirror_suite": SUITE, "backports": BACKPORTS, "variant": "minbase",
          "packages": PACKAGES, "min_samba": MIN_SAMBA}
MAX_AGE_DAYS = 7
STEP_TIMEOUT = 900  # debootstrap or apt-get install: seconds at most


class RootUnavailable(Exception):
    """The root cannot be made here (the tier skips, or fails under CI=true)."""


def recipe_id():
    return hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:16]


def log(msg):
    print(msg, flush=True)


# ----------------------------------------------------------------------------- mounts
def mounts_under(path):
    """Mount points at or under path, deepest first (from /proc/self/mountinfo)."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            mp = line.split()[4]
            mp = mp.encode().decode("unicode_escape")  # \040 etc.
            if mp == path or mp.startswith(path + "/"):
                found.append(mp)
    return sorted(set(found), key=len, reverse=True)


def unmount_all(path):
    """Unmount everything at or under path; returns the mount points that stayed."""
    for _ in range(3):
        left = mounts_under(path)
        if not left:
            return []
        for mp in left:
            subprocess.run(["umount", mp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=60, check=False)
        if mounts_under(path):
            time.sleep(0.5)
    left = mounts_under(path)
    for mp in left:  # busy: detach lazily, it goes when its last user does
        subprocess.run(["umount", "-l", mp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60, check=False)
    return mounts_under(path)


def remove_tree(path):
    """rm -rf that never crosses into a mount (a leftover bind mount must not lose its files)."""
    if not os.path.lexists(path):
        return
    left = unmount_all(path)
    if left:
        raise RuntimeError(f"cannot remove {path}: still mounted: {' '.join(left)}")
    subprocess.run(["rm", "-rf", "--one-file-system", path], timeout=600, check=True)


# ----------------------------------------------------------------------------- lock
class Lock:
    """flock on DIR/lock, waiting at most `wait` seconds."""

    def __init__(self, cache, wait):
        self.path = os.path.join(cache, "lock")
        self.wait = wait
        self.fd = None

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + self.wait
        said = False
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() > deadline:
                os.close(self.fd)
                self.fd = None
                raise RuntimeError(f"{self.path}: another samba-kdc run or build held the lock "
                                   f"for more than {self.wait} s")
            if not said:
                log(f"waiting for {self.path} (another samba-kdc run or build)")
                said = True
            time.sleep(1)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # releases the lock
            self.fd = None


# ----------------------------------------------------------------------------- leftovers
def state_path(cache):
    return os.path.join(cache, "run.state")


def write_state(cache, state):
    tmp = state_path(cache) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f)
    os.replace(tmp, state_path(cache))


def clear_state(cache):
    try:
        os.unlink(state_path(cache))
    except FileNotFoundError:
        pass


def processes_rooted_under(path):
    """PIDs whose root directory (chroot) is at or under path."""
    path = os.path.realpath(path)
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            r = os.readlink(f"/proc/{d}/root")
        except OSError:
            continue
        if r == path or r.startswith(path + "/"):
            pids.append(int(d))
    return pids


def clean_leftovers(cache):
    """Called with the lock held: a run.state here belongs to a run that died without cleanup
    (a live run would hold the lock). Stop its processes (only those chrooted into its tree),
    unmount, remove its work directory."""
    try:
        with open(state_path(cache), encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        state = {}
    work = state.get("work")
    log(f"cleaning up after an interrupted run: {work or '(unreadable state)'}")
    if work and os.path.isabs(work):
        for sig in (15, 9):
            pids = processes_rooted_under(work)
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            for _ in range(50):
                if not processes_rooted_under(work):
                    break
                time.sleep(0.1)
        remove_tree(work)
    clear_state(cache)


# ----------------------------------------------------------------------------- the root
def run_logged(cmd, logf, timeout=STEP_TIMEOUT, env=None, what=None):
    """Run cmd with output appended to logf; raise RootUnavailable with the log's tail."""
    with open(logf, "a", encoding="utf-8") as f:
        f.write("+ " + " ".join(cmd) + "\n")
        f.flush()
        try:
            rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                timeout=timeout, env=env, check=False).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    if rc != 0:
        with open(logf, encoding="utf-8", errors="replace") as f:
            tail = "".join(f.readlines()[-12:])
        raise RootUnavailable(f"{what or cmd[0]} failed ({rc}); last lines of {logf}:\n{tail}")


def dpkg_versions(root, packages):
    """{package: version} of the packages installed (status ii) in root."""
    out = subprocess.run(
        ["chroot", root, "dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n"]
        + packages, capture_output=True, text=True, timeout=60, check=False).stdout
    versions = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "ii":
            versions[parts[0].split(":")[0]] = parts[1]
    return versions


def samba_version(root):
    try:
        p = subprocess.run(["chroot", root, "samba", "-V"], capture_output=True, text=True,
                           timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.strip() if p.returncode == 0 and p.stdout.startswith("Version ") else None


def version_at_least(version, floor):
    return subprocess.run(["dpkg", "--compare-versions", version, "ge", floor],
                          timeout=30, check=False).returncode == 0


def read_stamp(cache):
    try:
        with open(os.path.join(cache, "stamp.json"), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def check_root(cache):
    """(stamp, None) when DIR/root is valid, else (None, reason)."""
    root = os.path.join(cache, "root")
    stamp = read_stamp(cache)
    if stamp is None:
        return None, "no stamp (never built, or a build did not finish)"
    if stamp.get("recipe") != recipe_id():
        return None, f"recipe changed ({stamp.get('recipe')} -> {recipe_id()})"
    if not os.path.isdir(root):
        return None, "stamp without root"
    have = dpkg_versions(root, list(stamp.get("packages", {})))
    for pkg, ver in stamp.get("packages", {}).items():
        if have.get(pkg) != ver:
            return None, f"{pkg}: stamp says {ver}, root has {have.get(pkg) or 'nothing'}"
    if not samba_version(root):
        return None, "samba -V does not run in the root"
    return stamp, None


def build_root(cache, mirror):
    """debootstrap + apt-get into DIR/root.new, then swap it in. Returns the stamp. A failed
    build leaves nothing behind (its log stays in DIR/build.log)."""
    try:
        return build_root_in(cache, mirror)
    except BaseException:
        try:
            remove_tree(os.path.join(cache, "root.new"))
        except (OSError, RuntimeError, subprocess.SubprocessError) as e:
            log(f"NOTE: could not remove {cache}/root.new: {e}")
        raise


def build_root_in(cache, mirror):
    for tool in ("debootstrap", "chroot", "mount", "umount"):
        if not shutil.which(tool):
            raise RootUnavailable(f"{tool} is not installed (apt-get install debootstrap; "
                                  "scripts/deps.sh installs it)")
    new = os.path.join(cache, "root.new")
    logf = os.path.join(cache, "build.log")
    remove_tree(new)
    with open(logf, "w", encoding="utf-8") as f:
        f.write(f"build started {datetime.datetime.now(datetime.timezone.utc).isoformat()}\n")
    times = {}
    t = time.monotonic()
    log(f"debootstrap --variant=minbase {SUITE} ({mirror}) ...")
    run_logged(["debootstrap", "--variant=minbase", SUITE, new, mirror], logf, what="debootstrap")
    times["debootstrap_s"] = round(time.monotonic() - t, 1)
    for leftover in ("etc/apt/sources.list",):
        try:
            os.unlink(os.path.join(new, leftover))
        except FileNotFoundError:
            pass
    with open(os.path.join(new, "etc/apt/sources.list.d/debian.sources"), "w",
              encoding="utf-8") as f:
        f.write(f"Types: deb\nURIs: {mirror}\nSuites: {SUITE} {SUITE}-updates {BACKPORTS}\n"
                "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    # no package may start a service inside the root
    policy = os.path.join(new, "usr/sbin/policy-rc.d")
    with open(policy, "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\nexit 101\n")
    os.chmod(policy, 0o755)
    shutil.copyfile("/etc/resolv.conf", os.path.join(new, "etc/resolv.conf"))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C.UTF-8")
    t = time.monotonic()
    log(f"apt-get install -t {BACKPORTS} {' '.join(PACKAGES)} ...")
    subprocess.run(["mount", "-t", "proc", "proc", os.path.join(new, "proc")], check=True,
                   timeout=60)
    try:
        run_logged(["chroot", new, "apt-get", "update", "-q"], logf, env=env, what="apt-get update")
        run_logged(["chroot", new, "apt-get", "install", "-y", "-q", "--no-install-recommends",
                    "-t", BACKPORTS] + PACKAGES, logf, env=env, what="apt-get install")
        run_logged(["chroot", new, "apt-get", "clean"], logf, env=env, what="apt-get clean")
    finally:
        unmount_all(os.path.join(new, "proc"))
    times["install_s"] = round(time.monotonic() - t, 1)
    versions = dpkg_versions(new, VERSIONED)
    missing = [p for p in VERSIONED if p not in versions]
    if missing:
        raise RootUnavailable(f"not installed in the new root: {' '.join(missing)}")
    if not version_at_least(versions["samba"], MIN_SAMBA):
        raise RootUnavailable(f"{BACKPORTS} has samba {versions['samba']}; the tier needs 4.24 "
                              "or later (strong certificate binding enforcement)")
    sv = samba_version(new)
    if not sv:
        raise RootUnavailable("samba -V does not run in the new root")
    du = subprocess.run(["du", "-sxm", new], capture_output=True, text=True, timeout=300,
                        check=False).stdout.split()
    stamp = {
        "recipe": recipe_id(),
        "built": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mirror": mirror,
        "samba_version": sv,
        "packages": versions,
        "disk_mib": int(du[0]) if du else None,
        **times,
    }
    # swap: the stamp goes first (a root without a stamp is rebuilt), then the directories
    stamp_file = os.path.join(cache, "stamp.json")
    try:
        os.unlink(stamp_file)
    except FileNotFoundError:
        pass
    root = os.path.join(cache, "root")
    old = os.path.join(cache, "root.old")
    remove_tree(old)
    if os.path.exists(root):
        os.rename(root, old)
    os.rename(new, root)
    with open(stamp_file + ".tmp", "w", encoding="utf-8") as f:
        json.dump(stamp, f, indent=1)
    os.replace(stamp_file + ".tmp", stamp_file)
    remove_tree(old)
    return stamp


def ensure_root(cache, mirror=MIRROR, rebuild=False, max_age_days=MAX_AGE_DAYS):
    """With the lock held: the valid root's stamp (building or refreshing it when needed).
    Raises RootUnavailable when there is no usable root."""
    if os.geteuid() != 0:
        raise RootUnavailable("needs root (debootstrap, chroot, mount, and Samba's fixed ports)")
    stamp, why = check_root(cache)
    if stamp and not rebuild:
        built = datetime.datetime.strptime(stamp["built"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        age = datetime.datetime.now(datetime.timezone.utc) - built
        if age <= datetime.timedelta(days=max_age_days):
            stamp["cache"] = "reused"
            return stamp
        log(f"cached root built {stamp['built']} is older than {max_age_days} days: refreshing")
        try:
            new = build_root(cache, mirror)
            new["cache"] = f"refreshed (was {stamp['samba_version']}, built {stamp['built']})"
            return new
        except (RootUnavailable, OSError, subprocess.SubprocessError) as e:
            remove_tree(os.path.join(cache, "root.new"))
            log(f"NOTE: refreshing the cached root failed, keeping the old one: {e}")
            stamp["cache"] = f"reused; refresh failed: {str(e).splitlines()[0]}"
            return stamp
    log(f"building the trixie root in {cache}: {'--rebuild' if rebuild else why}")
    try:
        new = build_root(cache, mirror)
    except (OSError, subprocess.SubprocessError) as e:
        raise RootUnavailable(f"building the root failed: {e}") from e
    new["cache"] = "built" if not rebuild else "rebuilt (--rebuild)"
    return new


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", default=os.environ.get("SM_KDC_CACHE", DEFAULT_CACHE))
    ap.add_argument("--mirror", default=os.environ.get("SM_KDC_MIRROR", MIRROR))
    ap.add_argument("--rebuild", action="store_true", help="build a new root even if valid")
    ap.add_argument("--lock-wait", type=int, default=900)
    args = ap.parse_args(argv)
    try:
        with Lock(args.cache, args.lock_wait):
            clean_leftovers(args.cache)
            stamp = ensure_root(args.cache, args.mirror, args.rebuild)
    except RootUnavailable as e:
        print(f"no root: {e}", file=sys.stderr)
        return 77
    print(json.dumps(stamp, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
