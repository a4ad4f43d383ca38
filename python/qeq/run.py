"""`python3 -m qeq run MODEL`: a quantized model on qeq beside PyTorch, per engine: are the
int8 outputs equal, how far is each from the float model, and how fast is each.

MODEL is `torchvision:NAME` (one of qeq.torch's recipe models: random weights, nothing
downloaded; the recipe is printed) or a torch.save'd quantized module (converted by PyTorch
for the engine given by --engine, default the current one; --input-shape gives its input).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any, Callable

__all__ = ["main"]


def _progress(label: str, done: int, total: int) -> None:
    if not sys.stderr.isatty():
        return
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r{label:<40} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _sqnr(ref: Any, x: Any) -> float:
    import torch
    ref, x = ref.double(), x.double()
    noise = (ref - x).pow(2).sum().item()
    signal = ref.pow(2).sum().item()
    if noise == 0:
        return math.inf
    return 10 * math.log10(signal / noise) if signal else -math.inf


def _best_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up: first-call allocations, caches
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def _best_pair_ms(first: Callable[[], Any], second: Callable[[], Any],
                  repeats: int) -> tuple[float, float, bool]:
    """The best times of two functions timed alternately (so load on a shared machine falls on
    both alike), and whether the run looks noisy: a median more than 25% above the best."""
    first(), second()  # warm-up: first-call allocations, caches
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(max(repeats, 1)):
        for fn, out in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    noisy = any(sorted(t)[len(t) // 2] > 1.25 * min(t) for t in times)
    return min(times[0]) * 1e3, min(times[1]) * 1e3, noisy


def _quantized_output(converted: Any, x: Any) -> tuple[Any, Any]:
    """(the model output, the integers of the quantized value it dequantizes, or None)."""
    import torch
    values = converted.node_values(x)
    out = next(n for n in converted.graph.nodes if n.op == "output").args[0]
    ints = None
    if hasattr(out, "name"):
        node = out
        if node.op in ("call_module", "call_method", "call_function") and node.args and \
                hasattr(node.args[0], "name"):
            source = values.get(node.args[0].name)
            if isinstance(source, torch.Tensor) and source.is_quantized:
                ints = source
        value = values.get(node.name)
        if isinstance(value, torch.Tensor) and value.is_quantized:
            ints = value
    return ints


def _compare(engine: str, model: Any, converted: Any, float_model: Any, inputs: list,
             exact: bool) -> list[str]:
    import torch
    lines = []
    differing = total = top1 = 0
    max_steps = 0
    sqnr_torch, sqnr_qeq = [], []
    for x in inputs:
        with torch.no_grad():
            expected = model(x)
            got = converted(x)
            reference = float_model(x) if float_model is not None else None
        e = expected.dequantize() if expected.is_quantized else expected
        g = got.dequantize() if got.is_quantized else got
        differing += int((e != g).sum())
        total += e.numel()
        if e.dim() == 2:
            top1 += int((e.argmax(1) == g.argmax(1)).sum())
        ints_q = _quantized_output(converted, x)
        if ints_q is not None and not expected.is_quantized:
            steps = ((g - e).abs() / ints_q.q_scale()).max().item()
        else:
            steps = ((g - e).abs().max() / (got.q_scale() if got.is_quantized else 1)).item() \
                if e.numel() else 0.0
        max_steps = max(max_steps, round(steps))
        if reference is not None:
            sqnr_torch.append(_sqnr(reference, e))
            sqnr_qeq.append(_sqnr(reference, g))
    rows = sum(x.shape[0] for x in inputs)
    mark = "" if exact else (" (PyTorch's oneDNN is not exact on this CPU: a difference can "
                             "be PyTorch's saturation)")
    lines.append(f"  outputs equal: {'yes' if differing == 0 else 'NO'}; {differing} of {total} "
                 f"positions differ, by up to {max_steps} quantized steps{mark}")
    if inputs and inputs[0].dim() == 4:
        lines.append(f"  top-1 agreement: {top1} of {rows} images")
    if sqnr_torch:
        lines.append(f"  SQNR against the float model: PyTorch {min(sqnr_torch):.2f} dB, qeq "
                     f"{min(sqnr_qeq):.2f} dB (lowest over the inputs)")
    return lines


def _latency(engine: str, model: Any, convert: Callable[[int], Any], size: int,
             repeats: int, threads_list: list[int], batches: list[int]) -> list[str]:
    import torch
    from qeq.torch import _models
    lines = [f"  latency (ms, best of {repeats}, the two timed alternately): threads batch  "
             "PyTorch   qeq   PyTorch/qeq"]
    previous_threads = torch.get_num_threads()
    previous_engine = torch.backends.quantized.engine
    try:
        for threads in threads_list:
            converted = convert(threads)
            for batch in batches:
                x = _models.generated_images(batch, size, 1234)
                torch.set_num_threads(threads)
                torch.backends.quantized.engine = engine
                with torch.no_grad():
                    t_torch, t_qeq, noisy = _best_pair_ms(lambda: model(x),
                                                          lambda: converted(x), repeats)
                lines.append(f"  {threads:>29} {batch:>5} {t_torch:8.2f} {t_qeq:8.2f} "
                             f"{t_torch / t_qeq:8.2f}x"
                             + ("  (noisy: medians > 1.25x best; a busy machine?)" if noisy
                                else ""))
    finally:
        torch.set_num_threads(previous_threads)
        torch.backends.quantized.engine = previous_engine
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m qeq run", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="torchvision:NAME or a torch.save'd quantized module")
    parser.add_argument("--engine", action="append", choices=["onednn", "qnnpack"],
                        help="engines to run (default: every one this PyTorch has; a saved "
                        "module: the current engine)")
    parser.add_argument("--size", type=int, help="input side (default: the model's, 224 or "
                        "299)")
    parser.add_argument("--images", type=int, default=8, help="generated images to compare "
                        "on (default 8)")
    parser.add_argument("--calibration", type=int, default=2, help="calibration batches of 4 "
                        "generated images (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs (best of)")
    parser.add_argument("--threads", type=int, action="append", help="thread counts to time "
                        "(default: 1 and every core)")
    parser.add_argument("--batch", type=int, action="append", help="batch sizes to time "
                        "(default: 1 and 8)")
    parser.add_argument("--no-latency", action="store_true", help="compare only")
    parser.add_argument("--fallback", action="store_true", help="run the nodes qeq has no "
                        "operator for in PyTorch (listed) instead of stopping")
    parser.add_argument("--input-shape", help="a saved module's input, e.g. 1,3,224,224")
    args = parser.parse_args(argv)
    for name in ("size", "images", "calibration", "repeats"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1")

    try:
        import torch
    except ImportError:
        print("qeq run: PyTorch is not installed (apt-get install python3-torch "
              "python3-torchvision)", file=sys.stderr)
        return 2
    import os
    import qeq.torch as qt
    from qeq._onednn_exactness import probe
    from qeq.torch import _models

    threads_list = args.threads or sorted({1, os.cpu_count() or 1})
    batches = args.batch or [1, 8]
    saved = None
    if args.model.startswith("torchvision:"):
        name = args.model.split(":", 1)[1]
        if name not in _models.MODELS:
            print(f"qeq run: unknown model {name!r}; the recipe covers torchvision's "
                  f"quantizable {', '.join(_models.MODELS)}", file=sys.stderr)
            return 2
        size = args.size or _models.input_size(name)
        engines = args.engine or [e for e in ("onednn", "qnnpack")
                                  if e in torch.backends.quantized.supported_engines]
        print(f"{args.model}: random weights (seed {args.seed}), batch-norm statistics "
              f"measured on generated images and perturbed, fuse_model(), "
              f"get_default_qconfig per engine ({', '.join(f'{e}: {_models.QCONFIG[e]}' for e in engines)}), "
              f"calibration on {args.calibration} x 4 generated images, {size}x{size} inputs")
    else:
        try:
            saved = torch.load(args.model)
        except Exception as e:  # noqa: BLE001 (any load failure is the user's file)
            print(f"qeq run: cannot load {args.model}: {type(e).__name__}: {e}", file=sys.stderr)
            return 2
        if not isinstance(saved, torch.nn.Module):
            print(f"qeq run: {args.model} holds a {type(saved).__name__}, not a module",
                  file=sys.stderr)
            return 2
        if not args.input_shape:
            print("qeq run: a saved module needs --input-shape (e.g. 1,3,224,224)",
                  file=sys.stderr)
            return 2
        shape = [int(v) for v in args.input_shape.split(",")]
        size = shape[-1]
        engines = args.engine or [torch.backends.quantized.engine]
        name = args.model

    info = probe()
    print(f"CPU: {info.describe()}; qeq runs its {qt.core.isa()} kernels")
    float_model = None
    for engine in engines:
        print(f"\n== engine {engine}")
        if saved is None:
            _progress(f"{engine}: building and calibrating", 0, 2)
            if float_model is None:
                float_model = _models.float_torchvision(name, seed=args.seed, size=size)
            _, model = _models.quantized_torchvision(
                name, engine, seed=args.seed, size=size, float_model=float_model,
                calibration_batches=args.calibration)
            _progress(f"{engine}: building and calibrating", 2, 2)
            inputs = [_models.generated_images(1, size, 5000 + i) for i in range(args.images)]
        else:
            try:
                model = saved.eval()
            except AttributeError as e:
                print(f"qeq run: PyTorch cannot use the module loaded from {args.model} ({e}): "
                      "PyTorch 1.13 does not restore quantized modules with fused layers "
                      "(ConvReLU2d, ...) saved with torch.save; quantize the model in the same "
                      "process and call qeq.torch.convert, or use torchvision:NAME "
                      "(docs/python.md#the-run-command)", file=sys.stderr)
                return 2
            g = torch.Generator().manual_seed(args.seed)
            inputs = [torch.randn(*shape, generator=g) for _ in range(args.images)]
        start = time.perf_counter()
        try:
            converted = qt.convert(model, engine=engine, fallback=args.fallback)
        except qt.ConversionError as e:
            print(f"  {e}")
            continue
        print(f"  convert: {time.perf_counter() - start:.3f} s, {len(converted.kernels)} "
              f"packed layers")
        if converted.fallbacks:
            print(f"  run by PyTorch (no qeq operator yet): {len(converted.fallbacks)} nodes, "
                  f"e.g. {', '.join(converted.fallbacks[:4])}")
        exact = engine == "qnnpack" or not info.saturates
        previous = torch.backends.quantized.engine
        torch.backends.quantized.engine = engine
        try:
            for line in _compare(engine, model, converted, float_model, inputs, exact):
                print(line)
        finally:
            torch.backends.quantized.engine = previous
        if not args.no_latency:
            for line in _latency(engine, model, lambda t: qt.convert(
                    model, engine=engine, threads=t, fallback=args.fallback), size,
                    args.repeats, threads_list, batches):
                print(line)
    return 0
