"""A real Synapse homeserver on 127.0.0.1 for the end-to-end tests.

Why a real server: matrix-nio's behaviour (sync tokens, 429 handling, room state, encryption)
is what the bot depends on, and only a real homeserver exercises it honestly. Synapse lives in
its own venv because it pins Twisted and friends; we only talk to it over HTTP.

A missing Synapse venv is a test *failure*, never a skip (project rule).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SYNAPSE_PYTHON_ENV = "CIRCLEBOT_SYNAPSE_PYTHON"
SERVER_NAME = "localhost"

INSTALL_HINT = (
    "Install Synapse into its own venv at the repository root:\n"
    "    python3 -m venv .venv-synapse && .venv-synapse/bin/pip install matrix-synapse\n"
    f"or point ${SYNAPSE_PYTHON_ENV} at a Python that can `import synapse`."
)

# Every client-facing rate limiter Synapse 1.163 reads. Defaults are tiny (rc_message 0.2/s,
# burst 10), which makes nio sit out 429s for seconds; functional tests raise all of them.
_UNLIMITED: dict[str, float] = {"per_second": 100_000, "burst_count": 100_000}
_RC_FLAT = (
    "rc_registration",
    "rc_registration_token_validity",
    "rc_joins_per_room",
    "rc_room_creation",
    "rc_admin_redaction",
    "rc_3pid_validation",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_delayed_event_mgmt",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
    "rc_key_requests",
)
_RC_NESTED: dict[str, tuple[str, ...]] = {
    "rc_login": ("address", "account", "failed_attempts"),
    "rc_joins": ("local", "remote"),
    "rc_invites": ("per_room", "per_user", "per_issuer"),
    "rc_presence": ("per_user",),
}


class SynapseError(RuntimeError):
    """Synapse answered a harness request with an error (e.g. M_USER_IN_USE)."""

    def __init__(self, message: str, *, status: int, errcode: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.errcode = errcode


@dataclass(frozen=True)
class RegisteredUser:
    """A user created through the shared-secret admin API, with a ready access token."""

    user_id: str
    password: str
    access_token: str
    device_id: str

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]


def unique_localpart(prefix: str = "user") -> str:
    """A fresh, valid Matrix localpart so tests never collide on one shared server."""
    return f"{prefix.lower()}-{uuid.uuid4().hex[:12]}"


def synapse_python() -> Path:
    """The interpreter that has Synapse installed; raises (never skips) when it is missing."""
    configured = os.environ.get(SYNAPSE_PYTHON_ENV)
    path = Path(configured) if configured else REPO_ROOT / ".venv-synapse" / "bin" / "python"
    if not path.exists():
        source = f"${SYNAPSE_PYTHON_ENV}={configured}" if configured else "the default path"
        raise RuntimeError(f"Synapse Python not found at {path} ({source}).\n{INSTALL_HINT}")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rate_limit_config(rate_limited: bool) -> dict[str, Any]:
    """Raise every rc_* limiter; in rate-limited mode keep Synapse's default rc_message only."""
    config: dict[str, Any] = {key: dict(_UNLIMITED) for key in _RC_FLAT}
    for key, subkeys in _RC_NESTED.items():
        config[key] = {sub: dict(_UNLIMITED) for sub in subkeys}
    if not rate_limited:
        config["rc_message"] = dict(_UNLIMITED)
    return config


# Runs Synapse exactly as `python -m synapse.app.homeserver` would, plus a watchdog thread:
# if the test process dies without cleanup (SIGKILL, os._exit), Synapse gets re-parented and
# stops itself within a second, so no orphan keeps a port and 120 MiB.
_WATCHDOG_LAUNCHER = """
import os, runpy, signal, sys, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(15)
    os._exit(1)
threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
sys.argv = ["synapse.app.homeserver", *sys.argv[1:]]
runpy.run_module("synapse.app.homeserver", run_name="__main__", alter_sys=True)
"""

_RUNNING: set[SynapseServer] = set()


@atexit.register
def _stop_all_servers() -> None:
    """Last line of defence: no Synapse outlives the test process (pytest crash, Ctrl-C)."""
    for server in list(_RUNNING):
        with contextlib.suppress(Exception):
            server.stop()


class SynapseServer:
    """One Synapse process with its config, SQLite database and media in ``data_dir``."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        rate_limited: bool = False,
        python: Path | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self._owns_data_dir = data_dir is None
        self.data_dir = Path(tempfile.mkdtemp(prefix="synapse-")) if data_dir is None else data_dir
        self.rate_limited = rate_limited
        self.python = python
        self.startup_timeout = startup_timeout
        self.server_name = SERVER_NAME
        self.port: int | None = None
        self.registration_shared_secret = secrets.token_hex(16)
        self.config_path = self.data_dir / "homeserver.yaml"
        self.log_path = self.data_dir / "homeserver.log"
        self.output_path = self.data_dir / "synapse.out"
        self.pid_path = self.data_dir / "homeserver.pid"
        self.signing_key_path = self.data_dir / f"{SERVER_NAME}.signing.key"
        self.timings: dict[str, float] = {}
        self._process: subprocess.Popen[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("SynapseServer has not been started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Write config, generate the signing key once, launch, and wait until it serves."""
        if self.running:
            return
        # Absolute but not resolved: a venv's python is a symlink that must stay unresolved.
        python = (self.python or synapse_python()).absolute()
        first_start = self.port is None
        if first_start:
            self.port = _free_port()
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._write_config()
        if not self.signing_key_path.exists():
            began = time.monotonic()
            self._generate_keys(python)
            self.timings["keygen_s"] = time.monotonic() - began
        began = time.monotonic()
        with self.output_path.open("ab") as output:
            self._process = subprocess.Popen(
                [str(python), "-c", _WATCHDOG_LAUNCHER, "-c", str(self.config_path)],
                cwd=self.data_dir,
                env=self._child_env(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        _RUNNING.add(self)
        # Synapse itself writes pid_file only when it daemonizes; we keep it in the foreground
        # (its output stays ours, stop() can wait on it) and record the PID ourselves.
        self.pid_path.write_text(f"{self._process.pid}\n")
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self.timings["ready_s"] = time.monotonic() - began

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process by PID, wait, SIGKILL if it will not go."""
        process, self._process = self._process, None
        _RUNNING.discard(self)
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self.pid_path.unlink(missing_ok=True)

    def restart(self) -> None:
        """Stop and start again on the same port and data dir, so all state persists."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop, and delete the data dir if this object created it."""
        self.stop()
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> SynapseServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def log_tail(self, lines: int = 40) -> str:
        """The end of Synapse's log and raw output, for error messages."""
        parts: list[str] = []
        for path in (self.output_path, self.log_path):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name} (last {len(text)} lines) ---\n" + "\n".join(text))
        return "\n".join(parts) or "(no Synapse output yet)"

    # -- users -------------------------------------------------------------------------------

    async def register_user(
        self, localpart: str, password: str | None = None, admin: bool = False
    ) -> RegisteredUser:
        """Create a user through the shared-secret admin API (open registration stays off)."""
        password = password or secrets.token_urlsafe(12)
        url = f"{self.base_url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                body = await self._json_or_raise(response, f"nonce for {localpart!r}")
            nonce = str(body["nonce"])
            mac = hmac.new(self.registration_shared_secret.encode(), digestmod=hashlib.sha1)
            for part in (nonce, localpart, password):
                mac.update(part.encode() + b"\x00")
            mac.update(b"admin" if admin else b"notadmin")
            payload = {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            }
            async with session.post(url, json=payload) as response:
                body = await self._json_or_raise(response, f"registering {localpart!r}")
        return RegisteredUser(
            user_id=str(body["user_id"]),
            password=password,
            access_token=str(body["access_token"]),
            device_id=str(body["device_id"]),
        )

    # -- internals ---------------------------------------------------------------------------

    @staticmethod
    async def _json_or_raise(response: aiohttp.ClientResponse, what: str) -> dict[str, Any]:
        text = await response.text()
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = None
        if response.status != 200 or not isinstance(body, dict):
            errcode = body.get("errcode") if isinstance(body, dict) else None
            error = body.get("error") if isinstance(body, dict) else text[:300]
            raise SynapseError(
                f"Synapse refused {what}: HTTP {response.status} {errcode or ''}: {error}",
                status=response.status,
                errcode=errcode,
            )
        return body

    def _child_env(self) -> dict[str, str]:
        # Our pytest pythonpath must not leak into Synapse's interpreter.
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _write_config(self) -> None:
        log_config = {
            "version": 1,
            "formatters": {
                "precise": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}
            },
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "precise",
                    "filename": str(self.log_path),
                    "encoding": "utf8",
                }
            },
            "root": {"level": "INFO", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }
        log_config_path = self.data_dir / "log.config"
        # JSON is valid YAML, so no YAML library is needed on our side.
        log_config_path.write_text(json.dumps(log_config, indent=2))
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "public_baseurl": f"http://127.0.0.1:{self.port}/",
            "pid_file": str(self.pid_path),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(self.data_dir / "homeserver.db")},
            },
            "log_config": str(log_config_path),
            "media_store_path": str(self.data_dir / "media_store"),
            "signing_key_path": str(self.signing_key_path),
            "registration_shared_secret": self.registration_shared_secret,
            "macaroon_secret_key": secrets.token_hex(32),
            "form_secret": secrets.token_hex(32),
            "report_stats": False,
            "enable_registration": False,
            "enable_metrics": False,
            "federation_domain_whitelist": [],
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "presence": {"enabled": False},
            "bcrypt_rounds": 4,
            "url_preview_enabled": False,
            **_rate_limit_config(self.rate_limited),
        }
        self.config_path.write_text(json.dumps(config, indent=2))

    def _generate_keys(self, python: Path) -> None:
        result = subprocess.run(
            [
                str(python),
                "-m",
                "synapse.app.homeserver",
                "-c",
                str(self.config_path),
                "--generate-keys",
            ],
            cwd=self.data_dir,
            env=self._child_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=self.startup_timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"Synapse --generate-keys failed (exit {result.returncode}) using {python}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n{INSTALL_HINT}"
            )

    def _wait_until_ready(self) -> None:
        url = f"{self.base_url}/_matrix/client/versions"
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            assert self._process is not None
            code = self._process.poll()
            if code is not None:
                raise RuntimeError(
                    f"Synapse exited with code {code} during startup on {self.base_url}.\n"
                    f"{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
                    last_error = f"HTTP {response.status}"
            except (urllib.error.URLError, OSError) as exc:
                last_error = repr(exc)
            time.sleep(0.05)
        raise RuntimeError(
            f"Synapse did not answer {url} within {self.startup_timeout:.0f} s "
            f"(last error: {last_error}).\n{self.log_tail()}"
        )


@contextlib.contextmanager
def running_synapse(
    data_dir: Path | None = None, *, rate_limited: bool = False
) -> Iterator[SynapseServer]:
    """A separate, started Synapse for one block (e.g. the rate-limited pacing test)."""
    server = SynapseServer(data_dir, rate_limited=rate_limited)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """One shared, rate-limit-free Synapse for the whole session (about 2 s to start).

    A sync fixture on purpose: it polls with urllib, so it is free of event-loop scopes.
    """
    server = SynapseServer(tmp_path_factory.mktemp("synapse"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def synapse_rate_limited(tmp_path: Path) -> Iterator[SynapseServer]:
    """A private Synapse with the default rc_message (0.2/s, burst 10) to prove bot pacing."""
    with running_synapse(tmp_path / "synapse-rl", rate_limited=True) as server:
        yield server


if __name__ == "__main__":  # pragma: no cover - manual smoke test
    with running_synapse() as smoke:
        print(smoke.base_url, smoke.timings, file=sys.stderr)
