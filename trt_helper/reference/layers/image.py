"""Resize, grid sample and non-maximum suppression (IResizeLayer, IGridSampleLayer, INMSLayer)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..registry import ReferenceError, evaluator
from .common import f32


@evaluator("RESIZE")
def resize(layer, inputs, trt, device):
    """Separable resize: each dim whose size or scale changes is mapped output → input coordinate by the layer's
    coordinate transformation, then read by nearest (with its rounding mode), linear or cubic (coefficient A,
    optionally excluding outside taps) interpolation; out-of-range taps repeat the edge."""
    x = f32(inputs[0])
    scales = [float(s) for s in layer.scales] if len(inputs) < 2 or inputs[1] is None else []
    if len(inputs) > 1 and inputs[1] is not None:
        shape = [int(d) for d in inputs[1].tolist()]
    elif scales:
        shape = [math.floor(n * s) for n, s in zip(x.shape, scales)]
    else:
        shape = [int(d) for d in layer.shape]
    mode = layer.resize_mode.name
    for d, (n_in, n_out) in enumerate(zip(x.shape, shape)):
        scale = scales[d] if scales else n_out / n_in
        if n_in == n_out and scale == 1.0:
            continue
        x = _resize_dim(layer, x, d, n_in, n_out, scale, mode)
    return [x]


def _resize_dim(layer, x, d, n_in, n_out, scale, mode):
    out = torch.arange(n_out, dtype=torch.float64, device=x.device)
    transform = layer.coordinate_transformation.name
    if transform == "ALIGN_CORNERS":
        coord = out * ((n_in - 1) / (n_out - 1)) if n_out > 1 else out * 0
    elif transform == "ASYMMETRIC":
        coord = out / scale
    else:  # HALF_PIXEL
        coord = (out + 0.5) / scale - 0.5
        if n_out == 1 and layer.selector_for_single_pixel.name == "UPPER":
            coord = out * 0
    if mode == "NEAREST":
        rounding = layer.nearest_rounding.name
        index = {
            "HALF_UP": torch.floor(coord + 0.5),
            "HALF_DOWN": torch.ceil(coord - 0.5),
            "FLOOR": torch.floor(coord),
            "CEIL": torch.ceil(coord),
        }[rounding]
        return x.index_select(d, index.long().clamp(0, n_in - 1))
    base = torch.floor(coord)
    t = coord - base
    if mode == "LINEAR":
        taps, weights = [base, base + 1], [1 - t, t]
    else:
        a = float(layer.cubic_coeff)
        taps = [base - 1, base, base + 1, base + 2]
        weights = [_cubic(t + 1, a), _cubic(t, a), _cubic(1 - t, a), _cubic(2 - t, a)]
        if layer.exclude_outside:
            weights = [torch.where((tap >= 0) & (tap < n_in), w, 0.0) for tap, w in zip(taps, weights)]
            total = sum(weights)
            weights = [w / total for w in weights]
    shape = [1] * x.dim()
    shape[d] = n_out
    result = 0
    for tap, weight in zip(taps, weights):
        picked = x.index_select(d, tap.long().clamp(0, n_in - 1))
        result = result + picked * weight.to(x.dtype).reshape(shape)
    return result


def _cubic(s, a):
    s = s.abs()
    near = ((a + 2) * s - (a + 3)) * s * s + 1
    far = ((a * s - 5 * a) * s + 8 * a) * s - 4 * a
    return torch.where(s <= 1, near, torch.where(s < 2, far, 0.0))


_PADDING = {"FILL": "zeros", "CLAMP": "border", "REFLECT": "reflection"}
_INTERPOLATION = {"NEAREST": "nearest", "LINEAR": "bilinear", "CUBIC": "bicubic"}


@evaluator("GRID_SAMPLE")
def grid_sample(layer, inputs, trt, device):
    x, grid = f32(inputs[0]), f32(inputs[1])
    sample = layer.sample_mode.name
    if sample not in _PADDING:
        raise ReferenceError(
            f"reference: grid sample layer '{layer.name}': sample mode {sample} is not supported "
            f"(FILL, CLAMP, REFLECT are)"
        )
    mode = _INTERPOLATION[layer.interpolation_mode.name]
    return [F.grid_sample(x, grid, mode=mode, padding_mode=_PADDING[sample], align_corners=layer.align_corners)]


@evaluator("NMS")
def nms(layer, inputs, trt, device):
    """Per batch item: (box, class) pairs scoring above the score threshold, by decreasing score (ties: box index,
    then class), the first ``topk_box_limit`` considered; a pair is selected while its class has fewer than
    MaxOutputBoxesPerClass and its IoU with each selected box of the class is at most the IoU threshold. Rows
    ``(batch, class, box)`` in that order."""
    boxes, scores = f32(inputs[0]), f32(inputs[1])
    limit = int(inputs[2].reshape(()))
    iou_threshold = float(inputs[3].reshape(())) if len(inputs) > 3 and inputs[3] is not None else 0.0
    score_threshold = float(inputs[4].reshape(())) if len(inputs) > 4 and inputs[4] is not None else 0.0
    center = layer.bounding_box_format.name == "CENTER_SIZES"
    batch, count, classes = scores.shape
    rows = []
    for b in range(batch):
        pairs = sorted(
            (-float(scores[b, i, c]), i, c)
            for i in range(count)
            for c in range(classes)
            if float(scores[b, i, c]) > score_threshold
        )[: layer.topk_box_limit]
        kept: dict[int, list[int]] = {}
        corners = [_corners(boxes[b, :, c] if boxes.dim() == 4 else boxes[b], center) for c in range(classes)]
        for _, i, c in pairs:
            chosen = kept.setdefault(c, [])
            if len(chosen) < limit and all(_iou(corners[c][i], corners[c][j]) <= iou_threshold for j in chosen):
                chosen.append(i)
                rows.append((b, c, i))
    selected = torch.tensor(rows, dtype=torch.int64, device=boxes.device).reshape(-1, 3)
    return [selected, torch.tensor(len(rows), dtype=torch.int32, device=boxes.device)]


def _corners(boxes, center):
    if center:
        cx, cy, w, h = boxes.unbind(-1)
        return torch.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], -1).tolist()
    y1, x1, y2, x2 = boxes.unbind(-1)
    return torch.stack(
        [torch.minimum(y1, y2), torch.minimum(x1, x2), torch.maximum(y1, y2), torch.maximum(x1, x2)], -1
    ).tolist()


def _iou(a, b):
    height = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    width = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = height * width
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
