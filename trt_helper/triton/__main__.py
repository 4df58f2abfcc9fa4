"""``python -m trt_helper.triton export|serve|setup``.

    export whisper PLAN_DIR REPO [--precision fp32] [--executor tensorrt|torch|reference] [--max-batch 8]
    export conformer_moe PLAN REPO [--executor ...]
    export plan PLAN REPO --name NAME [--max-batch-size N] [--preferred 4 8]
        common: [--instances 1] [--gpus 0 1] [--queue-delay-us 20000]
    serve REPO [--http-port 8000] [--grpc-port 8001]     the Triton server bundled in nvidia-pytriton (CPU)
    setup                                                 numpy 1.26 for that server's Python stub

--executor tensorrt (default) writes tensorrt_plan models for a GPU host with standard TensorRT; start it with
    tritonserver --model-repository=REPO --backend-config=tensorrt,plugins=$(python -c "from trt_helper import \\
plugins; print(plugins.find_plugin_library())")
(plugin plans only). torch / reference run the same networks on CPU in Python models (PyTriton's server).
"""

import argparse
import signal
import sys

from . import repository
from .server import TritonServer, setup_stub_site


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m trt_helper.triton", description=__doc__.splitlines()[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write a Triton model repository")
    export.add_argument("model", choices=("whisper", "conformer_moe", "plan"))
    export.add_argument("source", help="whisper: the plan directory; conformer_moe and plan: the .plan")
    export.add_argument("repo", help="model repository directory (created)")
    export.add_argument("--executor", choices=repository.EXECUTORS, default="tensorrt")
    export.add_argument("--precision", default="fp32", help="whisper plans' precision (fp32, fp16)")
    export.add_argument("--name", help="model name (plan: required; conformer_moe: default conformer_moe)")
    export.add_argument("--max-batch", type=int, help="whisper: requests decoded together (default: the plans')")
    export.add_argument("--max-batch-size", type=int, help="plan: cap on the profiles' batch")
    export.add_argument("--preferred", type=int, nargs="+", help="plan: preferred batch sizes")
    export.add_argument("--instances", type=int, default=1, help="instances per GPU (or CPU instances)")
    export.add_argument("--gpus", type=int, nargs="+", default=(), help="GPUs of the plan models (default: all)")
    export.add_argument("--queue-delay-us", type=int, default=20000, help="dynamic batcher's max queue delay")
    serve = commands.add_parser("serve", help="run the server bundled in nvidia-pytriton on a repository")
    serve.add_argument("repo")
    serve.add_argument("--http-port", type=int, default=8000)
    serve.add_argument("--grpc-port", type=int, default=8001)
    serve.add_argument("--log", help="server log file")
    commands.add_parser("setup", help="install numpy 1.26 for the bundled server's Python stub")
    return parser.parse_args(argv)


def export(args):
    queue_delay_us, instances, gpus = int(args.queue_delay_us), int(args.instances), tuple(args.gpus)
    if args.model == "whisper":
        return repository.export_whisper(
            args.repo,
            args.source,
            args.precision,
            args.executor,
            max_batch=args.max_batch,
            queue_delay_us=queue_delay_us,
            instances=instances,
            gpus=gpus,
        )
    if args.model == "conformer_moe":
        return repository.export_conformer(
            args.repo,
            args.source,
            args.executor,
            name=args.name or "conformer_moe",
            queue_delay_us=queue_delay_us,
            instances=instances,
            gpus=gpus,
        )
    if not args.name:
        raise SystemExit("export plan: --name is required")
    return [
        repository.export_plan(
            args.repo,
            args.name,
            args.source,
            args.executor,
            max_batch_size=args.max_batch_size,
            preferred=args.preferred,
            queue_delay_us=queue_delay_us,
            instances=instances,
            gpus=gpus,
        )
    ]


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "setup":
        print(f"numpy 1.26 for the bundled server's Python stub: {setup_stub_site()}")
    elif args.command == "export":
        for directory in export(args):
            print(f"wrote {directory}/config.pbtxt")
    else:
        with TritonServer(args.repo, http_port=args.http_port, grpc_port=args.grpc_port, log=args.log) as server:
            print(f"serving {args.repo}: HTTP {server.http_url}, gRPC {server.grpc_url} (Ctrl-C stops)", flush=True)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # after the server started
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
    return 0


if __name__ == "__main__":
    sys.exit(main())
