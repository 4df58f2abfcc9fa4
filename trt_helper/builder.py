"""Turn a NetworkHelper's network into a ``.plan`` file, atomically."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import refit, sidecar

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
    weight_bytes: int = 0
    strip_weights: bool = False

    def __str__(self) -> str:
        targets = ",".join(self.targets) or "this GPU"
        return (
            f"{self.path}: {self.layers} layers, built in {self.seconds:.1f} s, "
            f"{self.plan_bytes / 2**20:.1f} MB, targets {targets} ({self.backend})"
        )


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


def build(
    helper,
    path,
    *,
    targets=None,
    workspace: int | None = None,
    timing_cache=None,
    progress: bool | None = None,
    strip_weights: bool = False,
) -> BuildReport:
    """Build ``helper``'s network into ``path``.

    Args:
        targets: compute capabilities for an ahead-of-time build (``"SM89"``, ``"sm_86"``, ``120``); TensorRT-RTX
            only. Default there: SM86, SM89, SM120. Standard TensorRT builds for the GPU it runs on.
        workspace: workspace memory limit in bytes.
        timing_cache: a timing cache file read before and written after the build (standard TensorRT; TensorRT-RTX
            has no build-time cache — its runtime cache belongs to :class:`trt_helper.Engine`).
        progress: show tqdm bars; default: only when stderr is a terminal.
        strip_weights: write a weight-stripped plan (``STRIP_PLAN`` + ``REFIT_IDENTICAL``: as fast as a full one)
            whose weights :class:`trt_helper.Engine` refits at load (``refit_from=`` the module or its state dict);
            the sidecar maps each weights name to its state-dict key, and ``<plan>.constants.pt`` holds the
            computed constants (folded norms, tables). TensorRT >= 10 and TensorRT-RTX; TensorRT-RTX 1.7 needs a
            CUDA driver to build refittable plans.

    The plan is streamed to a temporary file next to ``path`` (the builder's stream writer where the backend has
    one) and renamed, so ``path`` is never half-written and no second copy of the plan is held in memory.
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
    if strip_weights:
        if not hasattr(trt.BuilderFlag, "STRIP_PLAN"):
            raise ValueError(
                f"build('{path}', strip_weights=True): {backend.trt.__name__} {backend.version} cannot "
                "strip weights (TensorRT >= 10 or TensorRT-RTX needed)"
            )
        config.set_flag(trt.BuilderFlag.STRIP_PLAN)
        config.set_flag(trt.BuilderFlag.REFIT_IDENTICAL)

    start = time.perf_counter()
    mark = len(helper.logger.errors)  # only this build's errors are quoted
    with _atomic_file(Path(path)) as handle:
        plan_bytes = _serialize(helper, config, handle)
        if plan_bytes is None:
            hint = ""
            if strip_weights and backend.has_aot_targets:
                hint = " (TensorRT-RTX builds weight-stripped, refittable plans only where a CUDA driver is present)"
            raise RuntimeError(
                f"build('{path}'): TensorRT could not build network '{helper.name}'{hint}: {helper.errors_since(mark)}"
            )
    seconds = time.perf_counter() - start
    if cache is not None and timing_cache is not None:
        with _atomic_file(Path(timing_cache)) as handle:
            handle.write(memoryview(config.get_timing_cache().serialize()))
    report = BuildReport(
        str(path),
        network.num_layers,
        seconds,
        plan_bytes,
        names,
        backend.trt.__name__,
        config.num_optimization_profiles,
        helper.weight_bytes,
        strip_weights,
    )
    sidecar.written(helper, report)
    refit.record(helper.refit_map, path, strip_weights)
    return report


def _serialize(helper, config, handle) -> int | None:
    """Build and write the plan to ``handle``, through the builder's stream writer where the backend has one (the
    plan is never held whole in memory), else from the one serialized copy. Returns its size, None on failure."""
    trt, builder = helper.trt, helper.builder
    if not hasattr(builder, "build_serialized_network_to_stream"):
        plan = builder.build_serialized_network(helper.network, config)
        if plan is None:
            return None
        handle.write(memoryview(plan))
        return plan.nbytes

    class Writer(trt.IStreamWriter):
        def __init__(self):
            trt.IStreamWriter.__init__(self)
            self.size = 0
            self.error: OSError | None = None

        def write(self, data):
            try:
                self.size += handle.write(data)
            except OSError as error:  # e.g. a full disk: TensorRT sees a short write and stops
                self.error = error
                return 0
            return len(data)

    writer = Writer()
    built = builder.build_serialized_network_to_stream(helper.network, config, writer)
    if writer.error is not None:
        raise writer.error
    return writer.size if built else None


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


@contextlib.contextmanager
def _atomic_file(path: Path):
    """A binary file handle on a temporary file next to ``path``, renamed to ``path`` when the block ends without an
    exception and removed otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a plan is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
