"""Make sure a Redis answers at `REDIS_URL` on this machine (for `make demo`, `make test`, CI).

    python -m workers.cli.localredis [URL] [--aof]

When nothing answers and the URL points at loopback, a `redis-server` is started there
(daemonized, data under `var/redis-<port>/`); when `redis-server` is missing and we are root,
Debian's package is installed first; otherwise one line says exactly what to install. A Redis on
another host is never started: then it must already run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

LOOPBACK = {"localhost", "127.0.0.1", "::1", ""}


class LocalRedisError(Exception):
    """Redis cannot be made to answer; the message says what to do."""


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something at host:port answers a Redis PING."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH", b"-ERR"))
    except OSError:
        return False


def ensure(url: str, *, aof: bool = False, root: Path = Path("var")) -> str:
    """Return a line saying how Redis at `url` answers, starting one on loopback if needed."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "localhost", parsed.port or 6379
    if answers(host, port):
        return f"redis: answering at {host}:{port}"
    if host not in LOOPBACK:
        raise LocalRedisError(f"redis: nothing answers at {host}:{port} (REDIS_URL); start it")
    server = _server_binary()
    data = root / f"redis-{port}"
    data.mkdir(parents=True, exist_ok=True)
    args = [
        *(server, "--bind", "127.0.0.1", "--port", str(port), "--daemonize", "yes"),
        *("--dir", str(data.resolve()), "--logfile", str((data / "redis.log").resolve())),
        *("--save", "", "--appendonly", "yes" if aof else "no"),
    ]
    subprocess.run(args, check=True, capture_output=True)  # noqa: S603
    for _ in range(50):
        if answers("127.0.0.1", port):
            return f"redis: started {server} on 127.0.0.1:{port} (data in {data})"
        time.sleep(0.1)
    raise LocalRedisError(f"redis: started {server} but nothing answers on port {port}")


def _server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() != 0:
        raise LocalRedisError(
            "redis: redis-server is not installed; run: sudo apt-get install -y redis-server"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "redis-server"]):
        subprocess.run(cmd, check=True, capture_output=True, env=env)  # noqa: S603
    found = shutil.which("redis-server")
    if not found:
        raise LocalRedisError("redis: installing Debian's redis-server did not provide it")
    return found


def main(argv: list[str]) -> int:
    url = next((a for a in argv if not a.startswith("--")), None)
    url = url or os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    try:
        print(ensure(url, aof="--aof" in argv))
    except (LocalRedisError, subprocess.CalledProcessError) as e:
        print(str(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
