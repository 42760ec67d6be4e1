"""Start a `berth serve` process with a given config for a pytest module.

    with berth_server(extra_toml) as (url, tmp): ...

The config gets a free loopback port, a temp data dir and the admin password; `extra_toml` adds
the rest (auth_mode and its section). Logs are JSON lines in `tmp/berth.log`.
"""

import contextlib
import os
import pathlib
import socket
import subprocess
import tempfile
import time

import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("BERTH_BIN", str(ROOT / "target/debug/berth"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def berth_server(extra_toml, admin_password, port=None):
    port = port or free_port()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="berth-e2e-"))
    cfg = tmp / "berth.toml"
    cfg.write_text(f'listen = "127.0.0.1:{port}"\ndata_dir = "{tmp}/data"\nadmin_password = "{admin_password}"\n' + extra_toml)
    url = f"http://127.0.0.1:{port}"
    with open(tmp / "berth.log", "w") as log:
        proc = subprocess.Popen([BIN, "serve", "--config", str(cfg), "--log-format", "json"], stdout=log, stderr=subprocess.STDOUT)
        try:
            for _ in range(150):
                try:
                    if requests.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                time.sleep(0.1)
            else:
                raise RuntimeError("berth did not start: " + (tmp / "berth.log").read_text())
            yield url, tmp
        finally:
            proc.terminate()
            proc.wait(timeout=10)
