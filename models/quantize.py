"""Static int8 quantisation of sori's ONNX graphs, calibrated once when a model is built.

Why static: dynamic quantisation scales each MatMul's activations by the range of the whole batch, so a
sentence's scores moved with the sentences batched beside it and a re-mined window did not reproduce
its rows. Here every activation scale is fixed at build time from calibration texts, and each row's
integer arithmetic is its own: a text scores the same alone or in any batch (tests/models/test_onnx.py).

The recipe, each step measured against the fp32 graph (docs/evaluation.md, "Static int8"):
- Only weight matrices are quantised (per output channel, activations per tensor, uint8): the
  attention's activation-by-activation products, the 250k-row word embedding and the small heads stay
  fp32.
- The feed-forward up-projections read a LayerNorm output whose few large channels would take most of
  a per-tensor int8 range. SmoothQuant (Xiao et al., 2023) moves that range into the weights: the input
  is divided per channel by s = amax(x)^α / amax(w)^(1−α) (one Mul before the MatMul) and the weight's
  rows are multiplied by s, which leaves the product unchanged in exact arithmetic.
- A feed-forward down-projection reads a GELU output; in most layers one channel spikes far above the
  rest, and no smoothing quantises those well. A down-projection whose largest input channel exceeds
  `SPIKE_RATIO` times the next stays fp32; the others are quantised.

Calibration texts are a fixed sample of the written VOC corpus (`data/voc`, the project's own text), or
the build's check texts where the corpus is absent; which one a build used is recorded in its marker.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from onnxruntime.quantization import CalibrationDataReader

log = logging.getLogger(__name__)

CORPUS_DIR = Path(__file__).resolve().parents[1] / "data" / "voc"
CALIBRATION_TEXTS = 512  # texts from the corpus; more changed no measured figure
CALIBRATION_MAX_LENGTH = 128
SMOOTHING_ALPHA = 0.8  # 0.5 left more sentiment labels flipped against fp32
SPIKE_RATIO = 1.5  # spiking layers measured 1.85–12.9, the rest 1.0–1.4


def calibration_texts(fallback: Sequence[str], limit: int = CALIBRATION_TEXTS) -> tuple[list[str], str]:
    """`limit` corpus texts chosen by a hash of the text (the same sample whatever the file order), and
    the name of where they came from; `fallback` when the corpus is not there (an installed package)."""
    texts = [row["text"] for path in sorted(CORPUS_DIR.glob("*.csv"))
             for row in csv.DictReader(path.open(encoding="utf-8"))]
    if not texts:
        log.warning("no written corpus in %s: calibrating int8 on the %d check texts", CORPUS_DIR,
                    len(fallback))
        return list(fallback), f"check texts ({len(fallback)})"
    texts.sort(key=lambda text: hashlib.sha256(text.encode()).hexdigest())
    return texts[:limit], f"data/voc ({min(limit, len(texts))})"


def quantize_int8(src: Path, dst: Path, config: Any, tokenizer: Any, texts: Sequence[str]) -> dict[str, int]:
    """Writes the static int8 graph of the fp32 graph `src` to `dst`, calibrated on `texts` (already
    prefixed as the model reads them); returns how many projections it quantised and kept fp32."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    model = onnx.load(str(src))
    inputs = [dict(tokenizer([text], truncation=True, max_length=CALIBRATION_MAX_LENGTH, return_tensors="np"))
              for text in texts]
    feeds = [{name: np.asarray(row[name], dtype=np.int64) for name in ("input_ids", "attention_mask")}
             for row in inputs]
    hidden, intermediate = config.hidden_size, config.intermediate_size
    up = _weight_matmuls(model.graph, (hidden, intermediate))
    down = _weight_matmuls(model.graph, (intermediate, hidden))
    amax = _input_channel_amax(model, [*up, *down], feeds)
    for node in up:
        _smooth(model.graph, node, amax[node.input[0]], SMOOTHING_ALPHA)
    kept = [node.name for node in down if _spikes(amax[node.input[0]])]
    weights = {init.name for init in model.graph.initializer}
    quantised = [node.name for node in model.graph.node
                 if node.op_type == "MatMul" and node.input[1] in weights and node.name not in kept]
    with tempfile.TemporaryDirectory(prefix="sori-int8-") as tmp:
        smoothed = Path(tmp) / "smoothed.onnx"
        onnx.save(model, str(smoothed))
        quantize_static(str(smoothed), str(dst), _Feeds(feeds), quant_format=QuantFormat.QOperator,
                        per_channel=True, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        op_types_to_quantize=["MatMul"], nodes_to_quantize=quantised,
                        calibrate_method=CalibrationMethod.MinMax)
    return {"int8_matmuls": len(quantised), "fp32_down_projections": len(kept)}


def _weight_matmuls(graph: Any, shape: tuple[int, int]) -> list[Any]:
    """The MatMul nodes multiplying by a weight of this (in, out) shape, found by shape, not by node
    name, so any BERT-like export is covered."""
    weights = {init.name for init in graph.initializer if tuple(init.dims) == shape}
    return [node for node in graph.node if node.op_type == "MatMul" and node.input[1] in weights]


def _input_channel_amax(model: Any, nodes: Sequence[Any], feeds: Sequence[dict[str, np.ndarray]]
                        ) -> dict[str, np.ndarray]:
    """max |x| per channel of each node's activation input over the calibration texts, read by running
    the fp32 graph with those inputs as extra outputs, removed again after (one text at a time: no
    padding rows)."""
    import onnx
    import onnxruntime as ort

    names = sorted({node.input[0] for node in nodes})
    outputs = len(model.graph.output)
    model.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
                              for name in names)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep the named tensors
    try:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    finally:
        del model.graph.output[outputs:]  # the probe's outputs, not the graph's
    amax: dict[str, np.ndarray] = {}
    for feed in feeds:
        for name, value in zip(names, session.run(names, feed), strict=True):
            channels = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0)
            amax[name] = np.maximum(amax[name], channels) if name in amax else channels
    return amax


def _smooth(graph: Any, node: Any, amax: np.ndarray, alpha: float) -> None:
    """x·W = (x / s)·(s W): a Mul by 1/s before `node`, its weight's rows scaled by s."""
    from onnx import helper, numpy_helper

    weights = {init.name: init for init in graph.initializer}
    weight = numpy_helper.to_array(weights[node.input[1]])
    scale = (np.maximum(amax, 1e-5) ** alpha / np.maximum(np.abs(weight).max(axis=1), 1e-5) ** (1 - alpha))
    scale = scale.astype(np.float32)
    weights[node.input[1]].CopyFrom(numpy_helper.from_array(weight * scale[:, None], node.input[1]))
    name = f"{node.name}/smooth"
    graph.initializer.append(numpy_helper.from_array(1 / scale, f"{name}/inverse_scale"))
    position = list(graph.node).index(node)
    graph.node.insert(position, helper.make_node("Mul", [node.input[0], f"{name}/inverse_scale"],
                                                 [f"{name}/output"], name=name))
    node.input[0] = f"{name}/output"


def _spikes(amax: np.ndarray) -> bool:
    """Whether one input channel rises above `SPIKE_RATIO` times every other."""
    top, second = np.sort(amax)[-2:][::-1]
    return bool(top > SPIKE_RATIO * max(second, 1e-9))


class _Feeds(CalibrationDataReader):
    """The calibration inputs, one text each, as ONNX Runtime's calibrator reads them."""

    def __init__(self, feeds: Sequence[dict[str, np.ndarray]]):
        self._rows = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._rows, None)
