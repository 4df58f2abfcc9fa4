"""Turn a NetworkHelper's network into a ``.plan`` file, atomically."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import sidecar

#: TensorRT-RTX's portable ahead-of-time targets: Ampere (GA10x), Ada, Blackwell (consumer).
DEFAULT_RTX_TARGETS = ("SM86", "SM89", "SM120")


@dataclass
class BuildReport:
    """What a build produced."""

    path: str
    layers: int
    seconds: float
    plan_bytes: int
    targets: tuple[str, ...] = field(default_factory=tuple)
    backend: str = ""
    profiles: int = 0

    def __str__(self) -> str:
        targets = ",".join(self.targets) or "this GPU"
        return (f"{self.path}: {self.layers} layers, built in {self.seconds:.1f} s, "
                f"{self.plan_bytes / 2**20:.1f} MB, targets {targets} ({self.backend})")


@functools.cache
def shared_builder(trt):
    """``(builder, logger)``: one ``trt.Builder`` per process, with a logger that prints warnings (when
    ``TRT_HELPER_VERBOSE`` is set) and keeps errors, so failures can be reported with context.

    One builder that is never freed: TensorRT calls the Python logger while holding its global lock, and if Python's
    garbage collector ran inside that call and freed another ``IBuilder``, its destructor would wait for the same
    lock forever (seen as a hung test run).
    """

    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.errors: list[str] = []
            self.verbose = bool(os.environ.get("TRT_HELPER_VERBOSE"))

        def log(self, severity, msg):
            if severity in (trt.ILogger.ERROR, trt.ILogger.INTERNAL_ERROR):
                self.errors.append(msg)
            elif severity == trt.ILogger.WARNING and self.verbose:
                print(f"[TensorRT] {msg}", file=sys.stderr)

    logger = Logger()
    return trt.Builder(logger), logger


def _progress_monitor(trt):
    """TensorRT's progress monitor feeding tqdm bars (only on a terminal)."""
    from tqdm import tqdm

    class _Monitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)
            self.bars = {}

        def phase_start(self, phase_name, parent_phase, num_steps):
            self.bars[phase_name] = tqdm(total=num_steps, desc=phase_name, leave=False, position=len(self.bars))

        def step_complete(self, phase_name, step):
            bar = self.bars.get(phase_name)
            if bar is not None:
                bar.update(step + 1 - bar.n)
            return True

        def phase_finish(self, phase_name):
            bar = self.bars.pop(phase_name, None)
            if bar is not None:
                bar.close()

    return _Monitor()


def _target(trt, target) -> tuple[str, object]:
    text = str(target).upper().replace("_", "").replace(".", "")
    text = text if text.startswith("SM") else f"SM{text}"
    value = getattr(trt.ComputeCapability, text, None)
    if value is None:
        known = [k for k in trt.ComputeCapability.__members__ if k.startswith("SM")]
        raise ValueError(f"build: unknown target {target!r}; this backend knows {known}")
    return text, value


def build(helper, path, *, targets=None, workspace: int | None = None, timing_cache=None,
          progress: bool | None = None) -> BuildReport:
    """Build ``helper``'s network into ``path``.

    Args:
        targets: compute capabilities for an ahead-of-time build (``"SM89"``, ``"sm_86"``, ``120``); TensorRT-RTX
            only. Default there: SM86, SM89, SM120. Standard TensorRT builds for the GPU it runs on.
        workspace: workspace memory limit in bytes.
        timing_cache: a timing cache file read before and written after the build (standard TensorRT; TensorRT-RTX
            has no build-time cache — its runtime cache belongs to :class:`trt_helper.Engine`).
        progress: show tqdm bars; default: only when stderr is a terminal.

    The plan is written to a temporary file next to ``path`` and renamed, so ``path`` is never half-written.
    """
    trt, backend = helper.trt, helper.backend
    network = helper.network
    if network.num_outputs == 0:
        raise ValueError(f"build('{path}'): network '{helper.name}' has no outputs; call helper.markOutput first")
    config = helper.builder.create_builder_config()
    if workspace is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace))
    names = ()
    if backend.has_aot_targets:
        chosen = [_target(trt, t) for t in (targets or DEFAULT_RTX_TARGETS)]
        config.num_compute_capabilities = len(chosen)
        for i, (_, value) in enumerate(chosen):
            config.set_compute_capability(value, i)
        names = tuple(n for n, _ in chosen)
    elif targets:
        raise ValueError(f"build: targets={targets} need TensorRT-RTX; {backend.trt.__name__} builds for this GPU")
    _add_profiles(helper, config)
    cache = None
    if timing_cache is not None and backend.cache_kind == "timing":
        blob = Path(timing_cache).read_bytes() if Path(timing_cache).exists() else b""
        cache = config.create_timing_cache(blob)
        config.set_timing_cache(cache, ignore_mismatch=False)
    if progress is None:
        progress = sys.stderr.isatty()
    if progress:
        config.progress_monitor = _progress_monitor(trt)

    start = time.perf_counter()
    mark = len(helper.logger.errors)  # only this build's errors are quoted
    plan = helper.builder.build_serialized_network(network, config)
    seconds = time.perf_counter() - start
    if plan is None:
        errors = helper.errors_since(mark)
        raise RuntimeError(f"build('{path}'): TensorRT could not build network '{helper.name}': {errors}")
    _write_atomically(Path(path), plan)
    if cache is not None and timing_cache is not None:
        _write_atomically(Path(timing_cache), config.get_timing_cache().serialize())
    return sidecar.written(helper, BuildReport(str(path), network.num_layers, seconds, plan.nbytes, names,
                                               backend.trt.__name__, config.num_optimization_profiles))


def _add_profiles(helper, config) -> None:
    network = helper.network
    dynamic = [network.get_input(i).name for i in range(network.num_inputs) if -1 in tuple(network.get_input(i).shape)]
    if not dynamic:
        return
    for index, shapes in enumerate(helper.profiles):
        missing = [name for name in dynamic if name not in shapes]
        if missing:
            raise ValueError(f"build: optimization profile {index} has no min/opt/max shapes for inputs {missing}")
        profile = helper.builder.create_optimization_profile()
        for name, (lo, opt, hi) in shapes.items():
            profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(profile)


def _write_atomically(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(memoryview(data))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a plan is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
