"""The pieces of static int8 quantisation that need no model: smoothing leaves a product unchanged,
spike detection, and the calibration sample. The built graphs are tested in test_onnx.py (slow)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from models.quantize import SPIKE_RATIO, _smooth, _spikes, calibration_texts


def _matmul_graph(weight: np.ndarray) -> onnx.ModelProto:
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="/layer.0/intermediate/dense/MatMul")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, weight.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, weight.shape[1]])],
        [numpy_helper.from_array(weight, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_smoothing_moves_an_outlier_channel_into_the_weights_without_changing_the_product() -> None:
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(8, 4)).astype(np.float32)
    x = rng.normal(size=(5, 8)).astype(np.float32)
    x[:, 3] *= 40  # one channel far above the rest, as after a LayerNorm in e5
    model = _matmul_graph(weight)
    before = _run(model, x)
    _smooth(model.graph, model.graph.node[0], np.abs(x).max(axis=0), alpha=0.8)
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node] == ["Mul", "MatMul"]
    np.testing.assert_allclose(_run(model, x), before, rtol=1e-4, atol=1e-4)
    inverse = numpy_helper.to_array(model.graph.initializer[-1])
    smoothed_input = x * inverse
    assert np.abs(smoothed_input).max() < np.abs(x).max() / 4  # the range int8 must cover shrank


def test_a_down_projection_spikes_when_one_channel_stands_far_above_the_rest() -> None:
    flat = np.array([1.0, 4.8, 5.1, 4.9])
    assert not _spikes(flat)
    assert _spikes(np.append(flat, 5.1 * SPIKE_RATIO * 1.1))


def test_calibration_takes_the_same_corpus_sample_whatever_the_order() -> None:
    texts, source = calibration_texts(["폴백"], limit=32)
    again, _ = calibration_texts(["폴백"], limit=32)
    assert source == "data/voc (32)" and len(texts) == 32 and texts == again
    assert len(set(texts)) == 32 and all(isinstance(t, str) and t for t in texts)


def test_calibration_falls_back_to_the_check_texts_without_the_corpus(tmp_path, monkeypatch) -> None:
    import models.quantize as quantize

    monkeypatch.setattr(quantize, "CORPUS_DIR", tmp_path)
    assert calibration_texts(["배송 빠르고 좋아요", "최악이에요"]) == (
        ["배송 빠르고 좋아요", "최악이에요"], "check texts (2)")
