"""A throw-away JupyterLab server for the browser tests: started offline and isolated, always stopped.

The server listens on 127.0.0.1 only, with a random token, and makes no request to the internet: no
announcements or news feed, no update check, a read-only extension manager (the default one asks PyPI).
Its configuration, data, runtime and settings folders are temporary ones, so nothing a user has set up
(a kernel spec in ~/.local/share/jupyter, a theme, a saved workspace) changes what the test sees.

It runs with the interpreter that runs the tests, so the notebook's ``python3`` kernel is that
interpreter too: jupyter_client starts a spec whose command is ``python`` with ``sys.executable``.

The server and everything it starts are stopped by :meth:`JupyterLab.stop`, even when the test failed:
a polite ``/api/shutdown`` first, then signals to the server's process group and to its kernels, which
jupyter_client starts in sessions of their own (out of reach of the group's signals).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil

# Settings a student would otherwise be asked about, or that reach the internet.
_USER_SETTINGS = {
    # No "get notified about Jupyter news?" toast, no news feed, no update check.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the server is told not to try others)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """A JupyterLab server serving ``root_dir``; its log and temporary folders live in ``work_dir``.

    Call :meth:`start`, and :meth:`stop` in a ``finally`` (it is safe to call after a failed start).
    """

    def __init__(self, root_dir: Path, work_dir: Path) -> None:
        self.root_dir = Path(root_dir)
        self.work_dir = Path(work_dir)
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.work_dir / "jupyter-server.log"
        self.process: subprocess.Popen | None = None
        self._descendants: dict[int, psutil.Process] = {}

    def command(self) -> list[str]:
        settings_dir = self.work_dir / "lab-user-settings"
        return [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",  # CI runs as root
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.open_browser=False",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            f"--LabApp.user_settings_dir={settings_dir}",
            f"--LabApp.workspaces_dir={self.work_dir / 'lab-workspaces'}",
        ]

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("JUPYTER", "JPY_"))}
        env.pop("MPLBACKEND", None)  # the kernel's inline backend, as a student gets it
        for name, folder in {
            "JUPYTER_CONFIG_DIR": "jupyter-config",
            "JUPYTER_DATA_DIR": "jupyter-data",
            "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
            "IPYTHONDIR": "ipython",
        }.items():
            env[name] = str(self.work_dir / folder)
            (self.work_dir / folder).mkdir(parents=True, exist_ok=True)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        return env

    def _write_settings(self) -> None:
        for plugin, values in _USER_SETTINGS.items():
            path = self.work_dir / "lab-user-settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def start(self, timeout: float = 120.0) -> None:
        """Start the server and wait until its REST API answers; raise with the log's tail if it does not."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._write_settings()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.root_dir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() can signal all of it
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                with self.api("GET", "/api/status", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"JupyterLab did not answer on {self.url} within {timeout:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(0.5)

    def api(self, method: str, path: str, timeout: float = 10.0):
        """A request to the server's REST API, authenticated with the token (a context manager)."""
        request = urllib.request.Request(
            self.url + path,
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"" if method == "POST" else None,
        )
        return urllib.request.urlopen(request, timeout=timeout)

    def kernel_states(self) -> dict[str, str]:
        """``{notebook path: its kernel's execution state}`` for each open session (from /api/sessions)."""
        with self.api("GET", "/api/sessions") as response:
            sessions = json.load(response)
        return {session["path"]: (session.get("kernel") or {}).get("execution_state", "") for session in sessions}

    def wait_for_idle_kernel(
        self, notebook: str, timeout: float = 90.0, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """Wait until ``notebook`` has a kernel and that kernel is idle (it has started and is not busy).

        With a Playwright page open, pass ``sleep=lambda s: page.wait_for_timeout(1000 * s)``: the sync API
        serves the page's routes and events only while Python is inside a Playwright call, so a
        ``time.sleep`` here would stall the page (and the kernel it is about to start).
        """
        deadline = time.monotonic() + timeout
        while self.kernel_states().get(notebook) != "idle":
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no idle kernel for {notebook} within {timeout:.0f} s: {self.kernel_states()}\n{self.log_tail()}"
                )
            sleep(0.25)

    def lab_url(self, notebook: str) -> str:
        """The address that opens ``notebook`` (a path relative to the root folder) in JupyterLab."""
        return f"{self.url}/lab/tree/{notebook}?token={self.token}"

    def kernel_processes(self) -> list[psutil.Process]:
        """The server's live ipykernel processes."""
        kernels = []
        for process in self._children():
            try:
                if "ipykernel_launcher" in " ".join(process.cmdline()):
                    kernels.append(process)
            except psutil.Error:
                pass
        return kernels

    def _children(self) -> list[psutil.Process]:
        if self.process is None:
            return []
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:  # remembered: once the server is gone, its kernels are orphans
            self._descendants.setdefault(child.pid, child)
        return children

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Shut the server and its kernels down; kill what does not stop within a few seconds."""
        if self.process is None:
            return
        self._children()
        if self.process.poll() is None:
            try:
                with self.api("POST", "/api/shutdown", timeout=5):
                    pass
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGTERM)
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL)
                    self.process.wait(timeout=5)
        self._signal_group(signal.SIGKILL)  # anything left in the group, e.g. a stuck child
        leftovers = [process for process in self._descendants.values() if process.is_running()]
        for process in leftovers:
            try:
                process.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(leftovers, timeout=5)
        self.process = None

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)  # the group id is the server's pid: start_new_session
        except (ProcessLookupError, PermissionError):
            pass
