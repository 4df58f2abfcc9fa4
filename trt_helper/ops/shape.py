"""Shape ops: reshape, permute, (un)squeeze, slice, concat, split, gather, cast, where, pad, masks.

Run-time dims are int64 scalar tensors (``addShapeOf(x, dim)``) and can be used wherever a shape entry or a slice
bound is expected, so dynamic shapes need no special casing in model code.
"""

from __future__ import annotations

import torch


class ShapeOps:
    """Shape, layout, indexing and dtype ops."""

    # ------------------------------------------------------------------ shape tensors
    def addShapeOf(self, x, dim: int | None = None, name=None):
        """``x.shape`` as a 1-D int64 tensor, or ``x.shape[dim]`` as a 0-d int64 tensor."""
        op = "addShapeOf"
        self._check_tensor(x, op)
        shape = self._shapes_of.get(x.name)
        if shape is None:
            shape = self._finish(self.network.add_shape(x), op, name, (x,)).get_output(0)
            self._shapes_of[x.name] = shape
        if dim is None:
            return shape
        dim = self._dim(x, dim, op)
        key = f"{shape.name}[{dim}]"
        if key not in self._shapes_of:
            index = self.addConstant(torch.tensor(dim, dtype=torch.int64), name=f"{op}_index")
            layer = self._finish(self.network.add_gather(shape, index, 0), op, f"{name or op}_dim", (shape,))
            self._shapes_of[key] = layer.get_output(0)
            self.dim_sources[layer.get_output(0).name] = (x.name, dim)
        return self._shapes_of[key]

    def _shape_tensor(self, dims, op):
        """A 1-D int64 tensor from a list of python ints and 0-d/1-element int tensors."""
        parts, ints = [], []
        for d in dims:
            if isinstance(d, self.trt.ITensor):
                if ints:
                    parts.append(self.addConstant(torch.tensor(ints, dtype=torch.int64), name=f"{op}_dims"))
                    ints = []
                if self.torch_dtype(d) not in (torch.int32, torch.int64) or len(d.shape) > 1:
                    raise TypeError(f"{self._where(op)}: a run-time dim must be a 0-d or 1-element int tensor, got "
                                    f"{self.torch_dtype(d)} {self.shape(d)}")
                d = self.addCast(d, torch.int64)
                parts.append(d if len(d.shape) == 1 else self._reshape_static(d, (1,), op))
            else:
                ints.append(int(d))
        if ints:
            parts.append(self.addConstant(torch.tensor(ints, dtype=torch.int64), name=f"{op}_dims"))
        return parts[0] if len(parts) == 1 else self.addConcat(parts, 0, name=f"{op}_shape")

    def _dims_of(self, x, op):
        """``x``'s dims as python ints where static, int64 scalar tensors where dynamic."""
        return [d if d != -1 else self.addShapeOf(x, i, name=f"{op}_dim{i}") for i, d in enumerate(self.shape(x))]

    # ------------------------------------------------------------------ layout
    def _reshape_static(self, x, shape, op, name=None):
        layer = self.network.add_shuffle(x)
        if layer is not None:
            layer.zero_is_placeholder = False
            layer.reshape_dims = tuple(shape)
        return self._finish(layer, op, name, (x,)).get_output(0)

    def addReshape(self, x, shape, name=None):
        """``x.reshape(shape)``; entries are ints (one may be -1) or int scalar tensors (``addShapeOf``)."""
        op = "addReshape"
        self._check_tensor(x, op)
        shape = list(shape)
        if sum(1 for d in shape if not isinstance(d, self.trt.ITensor) and d == -1) > 1:
            raise ValueError(f"{self._where(op)}: at most one -1 in {shape}")
        static = [d for d in shape if not isinstance(d, self.trt.ITensor)]
        known = [d for d in self.shape(x)]
        if len(static) == len(shape) and -1 not in known:
            total = int(torch.tensor(known, dtype=torch.int64).prod())
            fixed = int(torch.tensor([d for d in static if d != -1] or [1], dtype=torch.int64).prod())
            if (-1 in static and (fixed == 0 or total % fixed)) or (-1 not in static and fixed != total):
                raise ValueError(f"{self._where(op)}: cannot reshape {tuple(known)} to {tuple(shape)}")
        if len(static) == len(shape):
            return self._reshape_static(x, shape, op, name)
        placeholders = self._as_placeholders(x, shape)
        if placeholders is not None:
            layer = self.network.add_shuffle(x)
            layer.reshape_dims = placeholders  # zero_is_placeholder stays on: 0 copies the input's dim
            return self._finish(layer, op, name, (x,)).get_output(0)
        layer = self.network.add_shuffle(x)
        layer.zero_is_placeholder = False
        layer.set_input(1, self._shape_tensor(shape, op))
        return self._finish(layer, op, name, (x,)).get_output(0)

    def addFlatten(self, x, start_dim: int = 0, end_dim: int = -1, name=None):
        """``torch.flatten(x, start_dim, end_dim)``; one shuffle layer when the dims after ``end_dim`` are static."""
        op = "addFlatten"
        self._check_tensor(x, op)
        start, end = self._dim(x, start_dim, op), self._dim(x, end_dim, op)
        if start > end:
            raise ValueError(f"{self._where(op)}: start_dim {start_dim} is after end_dim {end_dim} for {self.shape(x)}")
        return self._regroup(x, start, end + 1, [-1], op, name)

    def addUnflatten(self, x, dim: int, sizes, name=None):
        """``torch.unflatten(x, dim, sizes)`` (one entry of ``sizes`` may be -1); one shuffle layer when the dims
        after ``dim`` are static."""
        op = "addUnflatten"
        self._check_tensor(x, op)
        dim = self._dim(x, dim, op)
        sizes = [int(s) for s in sizes]
        size = self.shape(x)[dim]
        fixed = 1
        for s in sizes:
            fixed *= s if s != -1 else 1
        if sizes.count(-1) > 1 or (size != -1 and (size % fixed if -1 in sizes else size != fixed)):
            raise ValueError(f"{self._where(op)}: cannot unflatten dim {dim} of {self.shape(x)} into {sizes}")
        return self._regroup(x, dim, dim + 1, sizes, op, name)

    def _regroup(self, x, begin, end, middle, op, name):
        """Replace dims ``begin:end`` of ``x`` by ``middle``; leading dims are copied with 0 placeholders."""
        shape = self.shape(x)
        trailing = list(shape[end:])
        if -1 not in trailing and not (-1 in middle and 0 in middle) and 0 not in trailing:
            layer = self.network.add_shuffle(x)
            layer.reshape_dims = tuple([0] * begin + list(middle) + trailing)
            return self._finish(layer, op, name, (x,)).get_output(0)
        dims = self._dims_of(x, op)
        return self.addReshape(x, dims[:begin] + list(middle) + dims[end:], name=name or op)

    def _as_placeholders(self, x, shape):
        """Static reshape dims for ``shape`` when each run-time entry is ``x``'s own dim at the same position (0 =
        copy it) or is the only one left (-1 = infer it); None when that cannot express ``shape``."""
        if any(not isinstance(d, self.trt.ITensor) and d == 0 for d in shape):
            return None
        dims, unresolved = [], []
        for position, d in enumerate(shape):
            if isinstance(d, self.trt.ITensor):
                if self.dim_sources.get(d.name) == (x.name, position):
                    d = 0
                else:
                    unresolved.append(position)
            dims.append(d)
        if len(unresolved) > 1 or (unresolved and -1 in dims):
            return None
        for position in unresolved:
            dims[position] = -1
        return tuple(dims)

    def addPermute(self, x, perm, name=None):
        """``x.permute(perm)``."""
        op = "addPermute"
        self._check_tensor(x, op)
        perm = [self._dim(x, p, op) for p in perm]
        if sorted(perm) != list(range(len(x.shape))):
            raise ValueError(f"{self._where(op)}: {perm} is not a permutation of the dims of {self.shape(x)}")
        layer = self.network.add_shuffle(x)
        layer.first_transpose = perm
        return self._finish(layer, op, name, (x,)).get_output(0)

    def addTranspose(self, x, dim0: int, dim1: int, name=None):
        """``x.transpose(dim0, dim1)``."""
        perm = list(range(len(x.shape)))
        d0, d1 = self._dim(x, dim0, "addTranspose"), self._dim(x, dim1, "addTranspose")
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return self.addPermute(x, perm, name=name or "transpose")

    def _axes_tensor(self, dims, op):
        return self.addConstant(torch.tensor(sorted(dims), dtype=torch.int64), name=f"{op}_axes")

    def addUnsqueeze(self, x, dim, name=None):
        """``x.unsqueeze(dim)``; ``dim`` may be a list of positions in the output."""
        op = "addUnsqueeze"
        self._check_tensor(x, op)
        rank = len(x.shape) + (1 if isinstance(dim, int) else len(dim))
        dims = [d % rank for d in ([dim] if isinstance(dim, int) else dim)]
        if any(not -rank <= d < rank for d in ([dim] if isinstance(dim, int) else dim)):
            raise ValueError(f"{self._where(op)}: dim {dim} out of range for shape {self.shape(x)}")
        layer = self.network.add_unsqueeze(x, self._axes_tensor(dims, op))
        return self._finish(layer, op, name, (x,)).get_output(0)

    def addSqueeze(self, x, dim, name=None):
        """``x.squeeze(dim)`` for size-1 dims (``dim`` an int or a list)."""
        op = "addSqueeze"
        self._check_tensor(x, op)
        dims = [self._dim(x, d, op) for d in ([dim] if isinstance(dim, int) else dim)]
        bad = [d for d in dims if self.shape(x)[d] not in (1, -1)]
        if bad:
            raise ValueError(f"{self._where(op)}: dims {bad} of {self.shape(x)} are not of size 1")
        layer = self.network.add_squeeze(x, self._axes_tensor(dims, op))
        return self._finish(layer, op, name, (x,)).get_output(0)

    # ------------------------------------------------------------------ slicing
    def addSlice(self, x, dim: int, start=0, end=None, step: int = 1, name=None):
        """``x[..., start:end:step, ...]`` along ``dim`` with python semantics (negative and out-of-range
        bounds clamp). ``start``/``end`` may be int scalar tensors (taken as non-negative, ``end`` clamped to the
        dim's size). ``step`` must be a positive int."""
        op = "addSlice"
        self._check_tensor(x, op)
        dim = self._dim(x, dim, op)
        if not isinstance(step, int) or step < 1:
            raise ValueError(f"{self._where(op)}: step must be a positive int, got {step!r}")
        length = self.shape(x)[dim]
        if not any(isinstance(b, self.trt.ITensor) for b in (start, end)) and length != -1:
            picked = range(length)[slice(start, end, step)]
            return self._slice_dim(x, dim, picked.start if len(picked) else 0, len(picked), step, op, name)
        length = self.addShapeOf(x, dim, name=f"{op}_len")
        begin = self._clamp_bound(start, length, op, "start")
        stop = length if end is None else self._clamp_bound(end, length, op, "end")
        span = self.addMaximum(self.addSub(stop, begin), 0, name=f"{op}_span")
        size = span if step == 1 else self.addFloorDiv(self.addAdd(span, step - 1), step, name=f"{op}_size")
        return self._slice_dim(x, dim, begin, size, step, op, name)

    def _slice_dim(self, x, dim, start, size, step, op, name):
        """Slice one dim; start/size are ints or int64 scalar tensors. One layer where the backend's slice layer
        takes ``axes``; else full start/size vectors (with shape tensors for dynamic dims)."""
        rank = len(x.shape)
        if hasattr(self.trt.ISliceLayer, "axes"):
            return self._slice(x, [start], [size], [step], op, name, axes=(dim,))
        dims = self._dims_of(x, op)
        return self._slice(x, [start if i == dim else 0 for i in range(rank)],
                           [size if i == dim else d for i, d in enumerate(dims)],
                           [step if i == dim else 1 for i in range(rank)], op, name)

    def _clamp_bound(self, bound, length, op, what):
        if isinstance(bound, self.trt.ITensor):
            bound = self.addCast(bound, torch.int64)
            if len(bound.shape) == 1:
                bound = self._reshape_static(bound, (), op)
            return self.addMinimum(bound, length, name=f"{op}_{what}")
        if bound < 0:
            return self.addMaximum(self.addAdd(length, int(bound)), 0, name=f"{op}_{what}")
        return self.addMinimum(length, int(bound), name=f"{op}_{what}")

    def _slice(self, x, starts, sizes, strides, op, name, mode=None, fill=None, axes=None):
        """An ISliceLayer; starts/sizes are lists of ints that may mix in int scalar tensors; ``axes`` limits
        them to the listed dims."""
        def is_static(v):
            return not any(isinstance(e, self.trt.ITensor) for e in v)

        count = len(starts)
        start_arg, size_arg = [0] * count, [1] * count
        start_tensor = None if is_static(starts) else self._shape_tensor(starts, op)
        size_tensor = None if is_static(sizes) else self._shape_tensor(sizes, op)
        layer = self.network.add_slice(x, [int(s) for s in starts] if start_tensor is None else start_arg,
                                       [int(s) for s in sizes] if size_tensor is None else size_arg,
                                       [int(s) for s in strides])
        if layer is None:
            return self._finish(layer, op, name, (x,))
        if axes is not None:
            layer.axes = tuple(axes)
        if start_tensor is not None:
            layer.set_input(1, start_tensor)
        if size_tensor is not None:
            layer.set_input(2, size_tensor)
        if mode is not None:
            layer.mode = mode
        if fill is not None:
            layer.set_input(4, fill)
        return self._finish(layer, op, name, (x,)).get_output(0)

    def addConcat(self, tensors, dim: int, name=None):
        """``torch.cat(tensors, dim)``."""
        op = "addConcat"
        tensors = list(tensors)
        if not tensors:
            raise ValueError(f"{self._where(op)}: needs at least one tensor")
        for t in tensors:
            self._check_tensor(t, op)
        first = tensors[0]
        dim = self._dim(first, dim, op)
        for t in tensors[1:]:
            same_rank = len(t.shape) == len(first.shape)
            clash = same_rank and any(a != b and -1 not in (a, b)
                                      for i, (a, b) in enumerate(zip(self.shape(t), self.shape(first))) if i != dim)
            if not same_rank or clash or t.dtype != first.dtype:
                raise ValueError(f"{self._where(op)}: cannot concatenate along dim {dim}: shapes "
                                 f"{[self.shape(u) for u in tensors]}, dtypes {[self.torch_dtype(u) for u in tensors]}")
        layer = self.network.add_concatenation(tensors)
        if layer is not None:
            layer.axis = dim
        return self._finish(layer, op, name, tensors).get_output(0)

    def addSplit(self, x, split_size_or_sections, dim: int = 0, name=None):
        """``torch.split(x, split_size_or_sections, dim)`` → tuple. Needs a static size along ``dim``."""
        op = "addSplit"
        self._check_tensor(x, op)
        dim = self._dim(x, dim, op)
        size = self.shape(x)[dim]
        if size == -1:
            raise ValueError(f"{self._where(op)}: dim {dim} of {self.shape(x)} is dynamic; split needs a static size")
        if isinstance(split_size_or_sections, int):
            sections = [min(split_size_or_sections, size - s) for s in range(0, size, split_size_or_sections)]
        else:
            sections = list(split_size_or_sections)
        if sum(sections) != size or any(s < 0 for s in sections):
            raise ValueError(f"{self._where(op)}: sections {sections} do not add up to dim {dim} of {self.shape(x)}")
        outs, offset = [], 0
        for i, section in enumerate(sections):
            outs.append(self.addSlice(x, dim, offset, offset + section, name=f"{name or 'split'}_{i}"))
            offset += section
        return tuple(outs)

    def addChunk(self, x, chunks: int, dim: int = 0, name=None):
        """``torch.chunk(x, chunks, dim)`` → tuple. Needs a static size along ``dim``."""
        size = self.shape(x)[self._dim(x, dim, "addChunk")]
        if size == -1:
            raise ValueError(f"{self._where('addChunk')}: dim {dim} of {self.shape(x)} is dynamic")
        return self.addSplit(x, -(-size // chunks), dim, name=name or "chunk")

    # ------------------------------------------------------------------ gathers
    def addIndexSelect(self, x, dim: int, index, name=None):
        """``torch.index_select(x, dim, index)``; ``index`` is an int tensor (any rank: its dims replace ``dim``,
        like ``x[..., index, ...]``) or a python list."""
        op = "addIndexSelect"
        self._check_tensor(x, op)
        if not isinstance(index, self.trt.ITensor):
            index = self.addConstant(torch.tensor(index, dtype=torch.int64), name=f"{op}_index")
        if self.torch_dtype(index) not in (torch.int32, torch.int64):
            raise TypeError(f"{self._where(op)}: index must be int32/int64, got {self.torch_dtype(index)}")
        layer = self.network.add_gather(x, index, self._dim(x, dim, op))
        return self._finish(layer, op, name, (x, index)).get_output(0)

    def addGather(self, x, dim: int, index, name=None):
        """``torch.gather(x, dim, index)`` (elementwise gather; ``index`` has x's rank)."""
        op = "addGather"
        self._check_tensor(x, op)
        self._check_tensor(index, op, "index")
        if len(index.shape) != len(x.shape):
            raise ValueError(f"{self._where(op)}: index {self.shape(index)} must have the rank of x {self.shape(x)}")
        layer = self.network.add_gather_v2(x, index, self.trt.GatherMode.ELEMENT)
        if layer is not None:
            layer.axis = self._dim(x, dim, op)
        return self._finish(layer, op, name, (x, index)).get_output(0)

    def addEmbeddingLookup(self, table, ids, name=None):
        """Rows of ``table`` (V, D) picked by int ``ids`` of any shape → ids.shape + (D,)."""
        return self.addIndexSelect(table, 0, ids, name=name or "lookup")

    # ------------------------------------------------------------------ dtype, select, pad, masks
    def addCast(self, x, dtype: torch.dtype, name=None):
        """``x.to(dtype)``; no layer when ``x`` already has that dtype."""
        op = "addCast"
        self._check_tensor(x, op)
        if self.torch_dtype(x) == dtype:
            return x
        layer = self.network.add_cast(x, self._trt_dtype(dtype, self._where(op)))
        return self._finish(layer, op, name, (x,)).get_output(0)

    def addWhere(self, condition, a, b, name=None):
        """``torch.where(condition, a, b)``; ``a``/``b`` may be python numbers."""
        op = "addWhere"
        self._check_tensor(condition, op, "condition")
        if self.torch_dtype(condition) != torch.bool:
            raise TypeError(f"{self._where(op)}: condition must be bool, got {self.torch_dtype(condition)}")
        like = a if isinstance(a, self.trt.ITensor) else b
        self._check_tensor(like, op, "a or b")
        a = a if isinstance(a, self.trt.ITensor) else self._scalar_like(a, like, op)
        b = b if isinstance(b, self.trt.ITensor) else self._scalar_like(b, like, op)
        if a.dtype != b.dtype:
            raise TypeError(f"{self._where(op)}: a {self.torch_dtype(a)} and b {self.torch_dtype(b)} differ in dtype")
        rank = max(len(t.shape) for t in (condition, a, b))
        condition, a, b = (t if len(t.shape) == rank else self.addUnsqueeze(t, list(range(rank - len(t.shape))))
                           for t in (condition, a, b))
        layer = self.network.add_select(condition, a, b)
        return self._finish(layer, op, name, (condition, a, b)).get_output(0)

    def addPad(self, x, pad, value: float = 0.0, name=None):
        """``torch.nn.functional.pad(x, pad, value=value)`` (constant mode; ``pad`` lists (before, after) pairs
        starting from the last dim; negative amounts crop)."""
        op = "addPad"
        self._check_tensor(x, op)
        pad = list(pad)
        if len(pad) % 2 or len(pad) // 2 > len(x.shape):
            raise ValueError(f"{self._where(op)}: pad {pad} needs (before, after) pairs for at most {len(x.shape)} dims")
        rank = len(x.shape)
        padded = [rank - 1 - i for i in range(len(pad) // 2) if pad[2 * i] or pad[2 * i + 1]]
        if not padded:
            return x
        if not hasattr(self.trt.ISliceLayer, "axes"):
            padded = list(range(rank))
        before = {d: pad[2 * (rank - 1 - d)] if rank - 1 - d < len(pad) // 2 else 0 for d in padded}
        after = {d: pad[2 * (rank - 1 - d) + 1] if rank - 1 - d < len(pad) // 2 else 0 for d in padded}
        sizes = []
        for d in padded:
            size = self.shape(x)[d]
            extra = before[d] + after[d]
            sizes.append(size + extra if size != -1 else
                         self.addAdd(self.addShapeOf(x, d), extra, name=f"{op}_size") if extra else
                         self.addShapeOf(x, d))
        host = self.torch_dtype(x) if self.torch_dtype(x) != torch.bfloat16 else torch.float32
        fill = self.addConstant(torch.tensor(value, dtype=torch.float64).to(host), dtype=self.torch_dtype(x),
                                name=f"{op}_value")
        axes = padded if hasattr(self.trt.ISliceLayer, "axes") else None
        return self._slice(x, [-before[d] for d in padded], sizes, [1] * len(padded), op, name,
                           mode=self.trt.SampleMode.FILL, fill=fill, axes=axes)

    def addArange(self, end, dtype: torch.dtype = torch.int32, name=None):
        """``torch.arange(end)``; ``end`` is an int or an int scalar tensor."""
        op = "addArange"
        layer = self.network.add_fill((0,), self.trt.FillOperation.LINSPACE, self._trt_dtype(dtype, self._where(op)))
        layer.set_input(0, self._shape_tensor([end], op))
        layer.set_input(1, self.addConstant(torch.tensor(0, dtype=dtype), name=f"{op}_start"))
        layer.set_input(2, self.addConstant(torch.tensor([1], dtype=dtype), name=f"{op}_step"))
        return self._finish(layer, op, name).get_output(0)

    def addMaskFromLengths(self, lengths, max_len, name=None):
        """``mask[b, t] = t < lengths[b]`` for ``t < max_len`` → bool (B, max_len). ``lengths`` is int32/int64
        (B,); ``max_len`` an int or an int scalar tensor (e.g. ``addShapeOf(x, 1)``)."""
        op = "addMaskFromLengths"
        self._check_rank(lengths, op, (1,), "lengths")
        dtype = self.torch_dtype(lengths)
        if dtype not in (torch.int32, torch.int64):
            raise TypeError(f"{self._where(op)}: lengths must be int32/int64, got {dtype} {self.shape(lengths)}")
        steps = self.addUnsqueeze(self.addArange(max_len, dtype, name=f"{name or 'mask'}_steps"), 0)
        return self.addLess(steps, self.addUnsqueeze(lengths, 1), name=name or "mask")
