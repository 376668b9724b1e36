"""ONNX Runtime backend: the same two forward passes as the PyTorch one, without torch.

This module must never import torch (directly or through ocrtool modules that do): it is
what a torch-free install reads text with. The model metadata (charset, normalisation)
comes from the ONNX files' metadata_props, read through onnxruntime itself, so neither
torch nor the `onnx` package is needed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from .base import DETECTOR, META_KEY, RECOGNIZER, model_path, weights_dir
from .precision import choose_precision

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def select_providers(device: str, available: list[str]) -> tuple[str, list]:
    """Execution providers for `device` ('auto', 'cpu', 'cuda') -> (device, providers).

    cuDNN's exhaustive algorithm search costs seconds per new input shape, and every page
    and crop batch has a new shape, so the CUDA provider uses the heuristic search.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"unknown device {device!r} (use auto, cpu or cuda)")
    if device in ("auto", "cuda") and CUDA in available:
        return "cuda", [(CUDA, {"cudnn_conv_algo_search": "HEURISTIC"}), CPU]
    if device == "cuda":
        print("ocrtool: onnxruntime has no CUDA provider here, running on the CPU",
              file=sys.stderr)
    return "cpu", [CPU]


def create_session(path: str | Path, device: str = "cpu", threads: int | None = None):
    """One InferenceSession; returns (session, device actually used)."""
    import onnxruntime as ort

    requested = device
    device, providers = select_providers(device, ort.get_available_providers())
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    # Every page and crop batch has a new shape: a memory pattern is planned (and its
    # block kept) per shape, which only grows memory. See `_share_cpu_arena` for the rest.
    options.enable_mem_pattern = False
    # ONNX Runtime's worker threads otherwise spin, waiting for the next call, while this
    # process's Python stages (post-processing, layout, decoding) run between calls: on
    # a 2-core machine they take the core Python needs. Without spinning a receipt read
    # end to end in 8% less time (median over sroie_dev, three runs each, interleaved).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if _share_cpu_arena(ort):
        options.add_session_config_entry("session.use_env_allocators", "1")
    session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    if device == "cuda" and CUDA not in session.get_providers():
        # The provider is installed but could not start (no GPU, missing CUDA libraries).
        if requested == "cuda":
            print("ocrtool: the CUDA provider failed to start, running on the CPU",
                  file=sys.stderr)
        device = "cpu"
    return session, device


_SHARED_ARENA: bool | None = None


def _share_cpu_arena(ort) -> bool:
    """Register one CPU memory arena for all sessions of this process (once); False where
    onnxruntime refuses, and each session keeps its own arena.

    Each session's arena keeps the largest working set it ever had: the detector's for
    the biggest page (~300 MB at 1600 x 1152) plus the recognizer's for its widest batch,
    side by side, though the two never run at once. One shared arena holds the larger of
    the two. Measured on 52 sroie_dev receipts in one process, one thread, same text:
    peak RSS 843 -> 408 MB with the memory patterns off too, CPU time 30.2 -> 29.7 s
    (turning the arenas off instead cost ~25% CPU: every tensor is then fresh memory).
    """
    global _SHARED_ARENA
    if _SHARED_ARENA is None:
        try:
            info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0,
                                     ort.OrtMemType.DEFAULT)
            # defaults for the limit, chunk size and dead bytes; power-of-two extension
            ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, 0, -1, -1))
            _SHARED_ARENA = True
        except Exception:  # an onnxruntime build without it: per-session arenas
            _SHARED_ARENA = False
    return _SHARED_ARENA


def read_meta(session) -> dict:
    """The weight file's meta dict stored at export time (same shape as the .pt meta)."""
    props = session.get_modelmeta().custom_metadata_map
    if META_KEY not in props:
        raise ValueError("this ONNX file has no ocrtool metadata; export it with "
                         "`ocrtool export-onnx`")
    meta = json.loads(props[META_KEY])
    if "source_sha256" in props:
        meta.setdefault("source_sha256", props["source_sha256"])
    return meta


class OnnxBackend:
    """Detector and recognizer sessions loaded from `<weights>/{detector,recognizer}.onnx`.

    `precision="int8"` loads the `*.int8.onnx` files written by `export-onnx --quantize
    int8` (an error if neither exists); "auto" loads each one that exists on a CPU with
    int8 dot-product instructions (see runtime/precision.py); "fp32" never does.
    """

    name = "onnx"

    def __init__(self, weights: str | Path | None = None, device: str = "auto",
                 threads: int | None = None, precision: str = "auto",
                 recognizer: str = RECOGNIZER) -> None:
        directory = Path(weights or weights_dir())
        self.precision = choose_precision(
            precision, on_gpu=precision == "auto" and _may_use_cuda(device),
            int8_available=any((directory / f"{k}.int8.onnx").exists()
                               for k in (DETECTOR, recognizer)))
        int8 = self.precision.precision == "int8"
        # keyed by role: the recognizer file is the language's (recognizer_ko.onnx, ...)
        self.files = {DETECTOR: _model_file(DETECTOR, directory, int8),
                      RECOGNIZER: _model_file(recognizer, directory, int8)}
        if precision == "int8" and not any(".int8." in p.name for p in self.files.values()):
            raise ValueError(f"no int8 models in {directory}: run `ocrtool export-onnx "
                             "--quantize int8`")
        self._detector, self.device = create_session(self.files[DETECTOR], device, threads)
        self.recognize_workers, recognizer_threads = split_threads(
            threads or available_cores()) if self.device == "cpu" else (1, threads)
        # The recognizer follows the detector: no second fallback message.
        self._recognizer, _ = create_session(self.files[RECOGNIZER], self.device,
                                             recognizer_threads)
        self.detector_meta = read_meta(self._detector)
        self.recognizer_meta = read_meta(self._recognizer)
        self._detector_input = self._detector.get_inputs()[0].name
        self._recognizer_input = self._recognizer.get_inputs()[0].name

    def detect(self, batch: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(batch, dtype=np.float32)
        return self._detector.run(None, {self._detector_input: x})[0]

    def recognize(self, batch: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(batch, dtype=np.float32)
        return self._recognizer.run(None, {self._recognizer_input: x})[0]


# On the CPU, a page's recognizer batches run RECOGNIZE_WORKERS at a time, each on its
# share of the threads: ONNX Runtime runs a batch 1.5x faster on 2 threads than on one,
# and 2 batches at once on one thread each 2x faster: a receipt's batches 1.07-1.19x
# sooner (`python bench/recognizer_workers.py`, AVX2-only EPYC, 2 threads; logits
# identical to the bit), receipts end to end 1.09x (README, session 34). The detector, one call per
# page, keeps every thread.
RECOGNIZE_WORKERS = 2


def split_threads(threads: int) -> tuple[int, int]:
    """(recognizer batches at once, threads each) for `threads` CPU threads in all."""
    workers = min(RECOGNIZE_WORKERS, max(threads, 1))
    return workers, max(1, threads // workers)


def available_cores() -> int:
    """The CPUs this process may run on (ONNX Runtime's own default counts cores)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _may_use_cuda(device: str) -> bool:
    """Whether a session for `device` could land on CUDA, where int8 QDQ graphs don't pay."""
    if device == "cpu":
        return False
    import onnxruntime as ort

    return device == "cuda" or CUDA in ort.get_available_providers()


def _model_file(kind: str, directory: Path, quantized: bool) -> Path:
    if quantized and (directory / f"{kind}.int8.onnx").exists():
        return directory / f"{kind}.int8.onnx"
    return model_path(kind, ".onnx", directory)
