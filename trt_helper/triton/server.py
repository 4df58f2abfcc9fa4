"""Start the Triton server that PyPI ``nvidia-pytriton`` bundles (tritonserver 2.51, Python backend only, no GPU
needed) on a model repository, on loopback ports.

Two things the bundled server needs on a machine like ours (found running it here):
- its Python-backend stub links ``libpython3.X.so.1.0`` by name; with a Python that is not the system one (pyenv)
  the system library gets loaded under this Python's standard library and model init fails
  (``'_thread.RLock' object has no attribute '_recursion_count'``). ``LD_LIBRARY_PATH`` gets this Python's LIBDIR.
- the 2.51 stub exchanges tensors with numpy through the numpy 1.x ABI: under numpy 2 a model's output arrives
  empty (0 bytes) and a TYPE_STRING input aborts the stub (``unpack_from requires a buffer of at least ...``).
  PyTriton pins ``numpy<2`` for that. We keep the project's numpy 2 and give the stub a numpy 1.26 of its own
  (``python -m trt_helper.triton setup`` installs it into ``stub_site()``). The stub embeds Python with an isolated
  config, so ``PYTHONPATH`` does not reach it; it takes its prefix from the first ``python3`` on ``PATH``, so the
  server gets a throw-away venv over this Python whose ``.pth`` puts that numpy and the project first.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def sysconfig_site_packages() -> list[str]:
    """This interpreter's site-packages folders (a venv's, where it runs in one)."""
    return sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})


def stub_site() -> Path:
    """Where the server's numpy 1.x lives: ``$TRT_HELPER_TRITON_SITE`` or ``~/.cache/trt_helper/triton-site``."""
    default = Path.home() / ".cache" / "trt_helper" / "triton-site"
    return Path(os.environ.get("TRT_HELPER_TRITON_SITE", default))


def setup_stub_site() -> Path:
    """Install numpy 1.26 into :func:`stub_site` (for the bundled server's Python stub only)."""
    site = stub_site()
    if (site / "numpy").is_dir():
        return site
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
            str(site),
            "numpy==1.26.4",
        ],
        check=True,
    )
    return site


def bundled_server() -> Path:
    """The pytriton package directory holding ``tritonserver/``; a clear error when nvidia-pytriton is missing."""
    spec = importlib.util.find_spec("pytriton")  # finds the package without importing it (it wants numpy<2)
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "the bundled Triton server needs nvidia-pytriton: pip install '.[serve]' "
            "(or: pip install --no-deps nvidia-pytriton==0.7.0)"
        )
    return Path(spec.origin).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TritonServer:
    """A tritonserver process on ``repo``, HTTP and gRPC on 127.0.0.1; use as a context manager.

    ``extra_python_path`` is prepended to the Python models' path (the project root always is, so exported
    ``model.py`` files import trt_helper and models). ``log`` receives the server's output.
    """

    def __init__(
        self,
        repo,
        *,
        http_port: int | None = None,
        grpc_port: int | None = None,
        log=None,
        extra_args=(),
        startup_timeout: float = 180.0,
    ):
        self.repo = Path(repo).resolve()
        self.http_port = http_port or free_port()
        self.grpc_port = grpc_port or free_port()
        self.log_path = Path(log) if log else None
        self.extra_args, self.startup_timeout = list(extra_args), startup_timeout
        self.process: subprocess.Popen | None = None
        self._workdir: str | None = None
        self._shm_prefix: str | None = None

    def _work(self) -> Path:
        """The scratch directory ``start`` made."""
        if self._workdir is None:
            raise RuntimeError("TritonServer: not started (no work directory)")
        return Path(self._workdir)

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def _backends(self, package: Path) -> Path:
        """A backend directory with the Python backend and this Python's stub (what PyTriton itself lays out), and
        the venv the stub takes its Python from."""
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        stub = package / "tritonserver" / "python_backend_stubs" / version / "triton_python_backend_stub"
        if not stub.is_file():
            raise RuntimeError(f"nvidia-pytriton has no Python-backend stub for Python {version} ({stub})")
        python = self._work() / "backends" / "python"
        python.mkdir(parents=True)
        for name in ("libtriton_python.so", "triton_python_backend_utils.py"):
            shutil.copy(package / "tritonserver" / "backends" / "python" / name, python / name)
        shutil.copy(stub, python / stub.name)
        # The stub embeds Python with an isolated config (PYTHONPATH is ignored) and finds its prefix from the
        # first python3 on PATH: a venv over this Python whose site-packages put numpy 1.x and the project first,
        # then this interpreter's own site-packages (when it runs in a venv, the base Python's are not enough).
        venv = self._work() / "venv"
        (venv / "bin").mkdir(parents=True)
        (venv / "bin" / "python3").symlink_to(Path(sys.executable).resolve())
        (venv / "pyvenv.cfg").write_text(
            f"home = {Path(sys.executable).resolve().parent}\ninclude-system-site-packages = true\n"
        )
        site = venv / "lib" / f"python{version}" / "site-packages"
        site.mkdir(parents=True)
        paths = [stub_site(), REPO_ROOT, *sysconfig_site_packages()]
        (site / "trt_helper_stub.pth").write_text("".join(f"{p}\n" for p in paths))
        return python.parent

    def environment(self, package: Path) -> dict:
        site = stub_site()
        if not (site / "numpy").is_dir():
            raise RuntimeError(
                f"{site} has no numpy 1.x for the bundled server's Python stub (its 2.51 stub breaks "
                "under numpy 2); run: python -m trt_helper.triton setup"
            )
        env = dict(os.environ)
        libs = [str(package.parent / "nvidia_pytriton.libs"), sysconfig.get_config_var("LIBDIR")]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(libs + [p for p in [env.get("LD_LIBRARY_PATH")] if p])
        env["PATH"] = os.pathsep.join([str(self._work() / "venv" / "bin"), env.get("PATH", "")])
        return env

    def start(self) -> TritonServer:
        package = bundled_server()
        self._cleanup()
        self._workdir = tempfile.mkdtemp(prefix="trt_helper-triton-")
        self._shm_prefix = f"trt_helper_{os.getpid()}_{self.http_port}_"
        command = [
            str(package / "tritonserver" / "bin" / "tritonserver"),
            f"--model-repository={self.repo}",
            f"--backend-directory={self._backends(package)}",
            "--http-address=127.0.0.1",
            f"--http-port={self.http_port}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={self.grpc_port}",
            "--allow-metrics=false",
            "--exit-timeout-secs=10",
            f"--backend-config=python,shm-region-prefix-name={self._shm_prefix}",
            *self.extra_args,
        ]
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            command, env=self.environment(package), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.wait_ready()
        return self

    def wait_ready(self):
        if self.process is None:
            raise RuntimeError("TritonServer: not started (no process to wait for)")
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"tritonserver exited with {self.process.returncode} while starting; log: {self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"http://{self.http_url}/v2/health/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"tritonserver not ready after {self.startup_timeout:.0f} s; log: {self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path or not self.log_path.is_file():
            return "(no log file; pass log=...)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self):
        """SIGKILL the server and everything it started (the Python stubs): a crash, for fault tests."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30.0):
        """SIGTERM (Triton finishes in-flight requests), SIGKILL after ``timeout``."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # stubs left behind by a crashed server
            except ProcessLookupError:
                pass
        self._cleanup()

    def _cleanup(self):
        """The backend copies and the Python backend's shared-memory regions a killed server leaves behind."""
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        for region in Path("/dev/shm").glob(f"{self._shm_prefix}*") if self._shm_prefix else ():
            region.unlink(missing_ok=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
