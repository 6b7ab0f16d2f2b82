"""A real nginx for tests and benchmarks: Debian's, in the foreground, with a configuration of its
own in a temporary directory that includes ``deploy/nginx-trooper.conf`` (the file docs/deploy.md
tells deployments to include), in front of Trooper replicas.

Every answer says which replica served it: nginx's ``$upstream_addr`` in ``X-Test-Replica`` (the
replicas it tried, comma-separated, the last one answered).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx

from tests.net import free_port, wait_for

REPO = Path(__file__).resolve().parents[1]


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is not installed: run `make nginx` (Debian's nginx-light)")
    return found


class Nginx:
    """nginx in the foreground with a configuration of its own in ``root``, in front of ``replicas``."""

    def __init__(self, root: Path, replicas: list[str]) -> None:
        self.port = free_port()
        servers = "\n".join(f"        server {address} max_fails=1 fail_timeout=30s;" for address in replicas)
        temp = "\n".join(f"    {kind}_temp_path {root}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (root / "nginx.conf").write_text(f"""
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    upstream trooper {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        add_header X-Test-Replica $upstream_addr always;
        include {REPO}/deploy/nginx-trooper.conf;
    }}
}}
""")
        self.process = subprocess.Popen([nginx_binary(), "-p", str(root), "-c", str(root / "nginx.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: httpx.get(f"{self.url}/health").status_code == 200, timeout=10, interval=0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
