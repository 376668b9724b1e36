"""Experiment (issue 14): the int8 recognizer with its first convolution kept in float.

Now the default of export.quantize_recognizer (shipped 2026-12-02); this script is the
record of the experiment, with --last for the variant that keeps the last one too.

    python bench/int8_keep_first_conv.py OUT_DIR [--last]   (then: ocrtool eval --data
        ../shared/data/born_digital_dev --weights OUT_DIR, and with --precision fp32)

Same calibration as the shipped graph (`export-onnx --calibrate` on 40 pages of five
training sets) and the same quantizer settings (export.quantize_recognizer), except that
the first Conv (and with --last the last one) is left out of quantization through
onnxruntime's `nodes_to_exclude`. Measured 2026-12-02 (avx512_vnni, loaded machine):
born_digital_dev word F1 ci fp32 0.7784, shipped int8 0.7858, this 0.7812 (last too:
0.7824); sroie_dev fp32 0.9090, shipped int8 0.9072, this 0.9067.
Note: export.recognizer_calibration keeps only the first 400 lines (limit=400), so
--calibrate-images beyond ~10 receipts adds nothing.
"""

import shutil
import sys
from pathlib import Path

import onnx
import onnxruntime.quantization as oq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ocrtool import export  # noqa: E402
from ocrtool.commands.export import calibration_images  # noqa: E402

SETS = ("sroie_train", "born_digital_train", "docbank_pages_train", "ic15_pages_train",
        "ic03_pages_train")


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    weights = ROOT / "weights"
    convs = [n.name for n in onnx.load(weights / "recognizer.onnx").graph.node
             if n.op_type == "Conv"]
    exclude = [convs[0], convs[-1]] if "--last" in sys.argv else [convs[0]]
    quantize_static = oq.quantize_static

    def keeping_float(*args, **kwargs):
        return quantize_static(*args, **{**kwargs, "nodes_to_exclude": exclude})

    oq.quantize_static = keeping_float
    data = ROOT.parent / "shared" / "data"
    images = calibration_images(tuple(str(data / s) for s in SETS), 40)
    for name in ("detector.onnx", "recognizer.onnx", "detector.pt", "recognizer.pt"):
        shutil.copy(weights / name, out)
    batches = export.recognizer_calibration(images, out)
    export.quantize_recognizer(out / "recognizer.onnx", out / "recognizer.int8.onnx", batches)
    export._copy_metadata(out / "recognizer.onnx", out / "recognizer.int8.onnx")
    print(f"wrote {out / 'recognizer.int8.onnx'} (float: {', '.join(exclude)})")


if __name__ == "__main__":
    main()
