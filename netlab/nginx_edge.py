"""A second kind of shared edge, beside HAProxy: nginx's ``stream`` module with
``ssl_preread``, routing TLS by its SNI and closing what has none, as Fly's shared IPv4
does with raw TCP. Started in the lab's edge namespace on ``NGINX_V4``, from Debian's
nginx with its own configuration in the lab's folder (never the packaged service).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from netlab.lab import NGINX_V4, PORT, TLS_NAME, EdgeLab

__all__ = ["MODULE", "NginxEdge", "nginx_problem"]

MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")


def nginx_problem() -> str | None:
    if shutil.which("nginx") is None or not MODULE.exists():
        return "the nginx edge needs nginx and libnginx-mod-stream (netlab/install.sh installs them as root)"
    return None


def _config(workdir: Path) -> str:
    return f"""load_module {MODULE};
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{}}
stream {{
    map $ssl_preread_server_name $upstream {{
        {TLS_NAME} 127.0.0.1:18443;
        default 127.0.0.1:1;
    }}
    server {{
        listen {NGINX_V4}:{PORT};
        ssl_preread on;
        # a raw stream sends no ClientHello: after the wait it goes nowhere and is closed
        preread_timeout 1s;
        proxy_pass $upstream;
    }}
}}
"""


@dataclass
class NginxEdge:
    """nginx as a shared edge in ``lab``'s edge namespace; a context manager."""

    lab: EdgeLab

    def __enter__(self) -> NginxEdge:
        workdir = self.lab.workdir
        (workdir / "nginx.conf").write_text(_config(workdir))
        self.lab._start("nginx", self.lab.edge, ["nginx", "-e", str(workdir / "nginx-error.log"),
                                                 "-c", str(workdir / "nginx.conf")])  # fmt: skip
        deadline = time.monotonic() + 20
        while f"{NGINX_V4}:{PORT} " not in self.lab.exec(self.lab.edge, ["ss", "-Hltn"]).stdout:
            process = self.lab.processes["nginx"]
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not listen: {(workdir / 'nginx-error.log').read_text(errors='replace')}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.lab.stop("nginx")
