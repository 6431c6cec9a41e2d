"""Debian's postfix (SMTP) and dovecot (IMAP, POP3) in the lab's edge namespace, on
``mail.fly.dev``'s addresses, each offering STARTTLS with a certificate from a CA of the
test's own (trustme), whose validity the test chooses: the realistic tier's mail servers.

Each runs from its own configuration in a scratch folder, never the packaged service:
postfix with ``postfix -c DIR start-fg`` (no chroot, its own queue, its log in a file),
dovecot with ``dovecot -F -c FILE``. The folder is world-readable: both drop privileges
to their own users, which must reach their sockets and certificates.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from netlab.lab import MAIL_NAME, MAIL_V4, MAIL_V6, EdgeLab

__all__ = ["MailServers", "mail_problem"]

_PORTS = (25, 143, 110)
_QUEUE = ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "maildrop", "private",
          "public", "saved", "trace")  # fmt: skip


def mail_problem() -> str | None:
    if shutil.which("postfix") is None or shutil.which("dovecot") is None:
        return "the mail servers need postfix and dovecot (netlab/install.sh installs them as root)"
    if not Path("/usr/lib/dovecot/imap-login").exists() or not Path("/usr/lib/dovecot/pop3-login").exists():
        return "dovecot's IMAP and POP3 need dovecot-imapd and dovecot-pop3d (netlab/install.sh installs them)"
    return None


_MASTER = """\
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _postfix_main(folder: Path) -> str:
    return f"""compatibility_level = 3.6
queue_directory = {folder}/postfix-queue
data_directory = {folder}/postfix-data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = {MAIL_V4}, [{MAIL_V6}]
inet_protocols = all
myhostname = {MAIL_NAME}
mydestination =
smtpd_banner = $myhostname ESMTP
# without this the banner waits on reverse DNS lookups that go nowhere
smtpd_peername_lookup = no
smtpd_tls_security_level = may
smtpd_tls_cert_file = {folder}/mail.pem
smtpd_tls_key_file = {folder}/mail.pem
maillog_file_prefixes = {folder}
maillog_file = {folder}/postfix.log
"""


def _dovecot_conf(folder: Path) -> str:
    return f"""base_dir = {folder}/dovecot-run
state_dir = {folder}/dovecot-state
log_path = {folder}/dovecot.log
protocols = imap pop3
listen = {MAIL_V4}, {MAIL_V6}
ssl = yes
ssl_cert = <{folder}/mail-cert.pem
ssl_key = <{folder}/mail-key.pem
auth_mechanisms = plain
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={folder}/home
}}
default_internal_user = dovecot
default_login_user = dovenull
"""


@dataclass
class MailServers:
    """postfix and dovecot in ``lab``'s edge namespace; a context manager. Their
    certificate for ``mail.fly.dev`` expires in ``days`` days; ``ca_file`` trusts it."""

    lab: EdgeLab
    days: float = 10.0
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tcpreach-mail-")))

    @property
    def ca_file(self) -> str:
        return str(self.folder / "ca.pem")

    def _certificate(self) -> None:
        import trustme  # a test dependency, as in the lab

        ca = trustme.CA()
        ca.cert_pem.write_to_path(self.ca_file)
        now = datetime.datetime.now(datetime.UTC)
        leaf = ca.issue_cert(MAIL_NAME, not_before=now - datetime.timedelta(days=1),
                             not_after=now + datetime.timedelta(days=self.days))  # fmt: skip
        leaf.private_key_and_cert_chain_pem.write_to_path(str(self.folder / "mail.pem"))
        leaf.cert_chain_pems[0].write_to_path(str(self.folder / "mail-cert.pem"))
        leaf.private_key_pem.write_to_path(str(self.folder / "mail-key.pem"))

    def __enter__(self) -> MailServers:
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        self.folder.chmod(0o755)
        self._certificate()
        for name in ("mail.pem", "mail-key.pem"):
            (self.folder / name).chmod(0o640)  # root reads them before dropping privileges
        (self.folder / "main.cf").write_text(_postfix_main(self.folder))
        (self.folder / "master.cf").write_text(_MASTER)
        past = time.time() - 60  # postfix re-reads a main.cf written this very second until it is older (2 s)
        for name in ("main.cf", "master.cf"):
            os.utime(self.folder / name, (past, past))
        (self.folder / "dovecot.conf").write_text(_dovecot_conf(self.folder))
        self._queue()
        self.lab._start("postfix", self.lab.edge, ["postfix", "-c", str(self.folder), "start-fg"])
        self.lab._start("dovecot", self.lab.edge, ["dovecot", "-F", "-c", str(self.folder / "dovecot.conf")])
        deadline = time.monotonic() + 30
        while True:
            listening = self.lab.exec(self.lab.edge, ["ss", "-Hltn"]).stdout
            if all(f"{MAIL_V4}:{port} " in listening and f"[{MAIL_V6}]:{port} " in listening for port in _PORTS):
                return
            for name in ("postfix", "dovecot"):
                process = self.lab.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}: {self.logs()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the mail servers did not listen within 30 s: {self.logs()[-3000:]}")
            time.sleep(0.1)

    def _queue(self) -> None:
        """The queue's folders as ``postfix check`` would make them, and its ``quick-start``
        mark: start-up skips its integrity checks (2 s) on a queue made just now."""
        queue = self.folder / "postfix-queue"
        queue.mkdir()
        (self.folder / "postfix-data").mkdir()
        shutil.chown(self.folder / "postfix-data", "postfix")
        for name in _QUEUE:
            (queue / name).mkdir(mode=0o700)
            shutil.chown(queue / name, "postfix")
        for name, mode in (("maildrop", 0o730), ("public", 0o710)):
            (queue / name).chmod(mode)
            shutil.chown(queue / name, "postfix", "postdrop")
        (queue / "pid").mkdir(mode=0o755)
        (queue / "quick-start").touch()

    def logs(self) -> str:
        """postfix's and dovecot's logs and what they wrote to stderr."""
        parts = [self.lab.log("postfix"), self.lab.log("dovecot")]
        for name in ("postfix.log", "dovecot.log"):
            path = self.folder / name
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def __exit__(self, *exc: object) -> None:
        # postfix's master runs under the start-fg script: SIGTERM to the master (its pid
        # file) stops it, its children and the script, faster than ``postfix stop``.
        with contextlib.suppress(OSError, ValueError):
            os.kill(int((self.folder / "postfix-queue" / "pid" / "master.pid").read_text().split()[0]), signal.SIGTERM)
        self.lab.stop("postfix")
        # dovecot takes a second to stop: it stops while the tests go on, and the lab's
        # close waits for it with its other daemons
        dovecot = self.lab.processes.pop("dovecot", None)
        if dovecot is not None:
            dovecot.terminate()
            self.lab.processes[f"dovecot-stopping-{dovecot.pid}"] = dovecot
        shutil.rmtree(self.folder, ignore_errors=True)
