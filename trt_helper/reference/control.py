"""Running a network's units: single layers, loops (ILoop) and if-conditionals (IIfConditional).

Loops follow NvInfer.h's ILoop: recurrences start from input 0 and take input 1 after each trip; iterators give
slice ``i`` (``M-1-i`` when reversed, M the trip count) along their axis; a loop stops at its kCOUNT trip limit or
before the trip where its kWHILE condition is false; a kLAST_VALUE output gives its recurrence's value after the
last trip, kCONCATENATE / kREVERSE stack each trip's value along the output's axis (to the length of input 1).
A conditional evaluates only the branch its condition selects.
"""

from __future__ import annotations

from collections import ChainMap
from typing import cast

import torch

from .dtypes import round_to
from .graph import Graph, Region
from .registry import EVALUATORS, ReferenceError

MAX_WHILE_TRIPS = 1_000_000


class Executor:
    """Evaluates a network's layers into a ``values`` mapping (tensor name → torch tensor)."""

    def __init__(self, trt, network, device):
        self.trt, self.device = trt, device
        self.graph = Graph(trt, network)

    def run(self, values) -> None:
        """Evaluate every layer of the network into ``values`` (which holds the network inputs)."""
        self.run_units(set(range(len(self.graph.nodes))), values)

    def run_units(self, indices: set[int], values, order=None) -> None:
        for unit in order if order is not None else self.graph.schedule(indices, set(values)):
            if isinstance(unit, Region):
                (self._run_loop if unit.kind == "loop" else self._run_if)(unit, values)
            else:
                self._run_layer(self.graph.nodes[unit], values)

    def _run_layer(self, node, values) -> None:
        evaluate = EVALUATORS.get(node.kind)
        if evaluate is None:
            raise ReferenceError(
                f"reference: layer '{node.layer.name}' has type {node.kind}, which the reference "
                f"executor cannot evaluate"
            )
        args = [values[name] if name is not None else None for name in node.inputs]
        try:
            results = evaluate(node.layer, args, trt=self.trt, device=self.device)
        except ReferenceError:
            raise
        except Exception as error:
            shapes = [tuple(a.shape) if isinstance(a, torch.Tensor) else None for a in args]
            raise ReferenceError(
                f"reference: layer '{node.layer.name}' ({node.kind}) failed on input shapes {shapes}: {error}"
            ) from error
        for i, result in enumerate(results):
            values[node.outputs[i]] = round_to(result, node.layer.get_output(i).dtype)

    # ----------------------------------------------------------------- if-conditionals
    def _run_if(self, region: Region, values) -> None:
        nodes = [self.graph.nodes[i] for i in region.boundary]
        (condition,) = [n for n in nodes if n.kind == "CONDITION"]
        flag = values[condition.inputs[0]]
        if flag.numel() != 1:
            raise ReferenceError(
                f"reference: condition layer '{condition.layer.name}' needs a scalar, got shape {tuple(flag.shape)}"
            )
        which = 0 if bool(flag.reshape(())) else 1
        for node in nodes:
            if node.kind == "CONDITIONAL_INPUT":
                values[node.outputs[0]] = values[node.inputs[0]]
        self.run_units(self.graph.branch(region, which), values)
        for node in nodes:
            if node.kind == "CONDITIONAL_OUTPUT":
                values[node.outputs[0]] = round_to(values[node.inputs[which]], node.layer.get_output(0).dtype)

    # ----------------------------------------------------------------- loops
    def _run_loop(self, region: Region, values) -> None:
        nodes = [self.graph.nodes[i] for i in region.boundary]
        of = {
            kind: [n for n in nodes if n.kind == kind]
            for kind in ("TRIP_LIMIT", "RECURRENCE", "ITERATOR", "LOOP_OUTPUT")
        }
        counts = [int(values[n.inputs[0]].reshape(())) for n in of["TRIP_LIMIT"] if n.layer.kind.name == "COUNT"]
        whiles = [n for n in of["TRIP_LIMIT"] if n.layer.kind.name == "WHILE"]
        trips = min(counts) if counts else None
        iterated = []
        for node in of["ITERATOR"]:
            tensor, axis = values[node.inputs[0]], node.layer.axis
            iterated.append((node, tensor, axis % tensor.dim(), node.layer.reverse))
            trips = tensor.shape[axis] if trips is None else min(trips, tensor.shape[axis])
        if trips is None and not whiles:
            raise ReferenceError(f"reference: loop '{region.handle.name}' has no trip limit")
        state = {n.outputs[0]: values[n.inputs[0]] for n in of["RECURRENCE"]}
        body = region.members - set(region.boundary)
        order = self.graph.schedule(body, set(values) | set(state) | {n.outputs[0] for n in of["ITERATOR"]})
        first, rest = self._split(order, [n.inputs[0] for n in whiles], body)
        collected = {n.index: [] for n in of["LOOP_OUTPUT"]}
        last: dict[int, torch.Tensor] = {}
        trip = 0
        while trips is None or trip < trips:
            local = ChainMap(dict(state), values)
            for node, tensor, axis, reverse in iterated:
                # an ITERATOR always sets the trip count, so trips is an int here
                local[node.outputs[0]] = tensor.select(axis, (cast(int, trips) - 1 - trip) if reverse else trip)
            self.run_units(body, local, first)
            if whiles and not all(bool(local[n.inputs[0]].reshape(())) for n in whiles):
                break
            self.run_units(body, local, rest)
            for node in of["LOOP_OUTPUT"]:
                if node.layer.kind.name == "LAST_VALUE":
                    last[node.index] = local[node.inputs[0]]
                else:
                    collected[node.index].append(local[node.inputs[0]])
            state = {
                n.outputs[0]: local[n.inputs[1]] if len(n.inputs) > 1 and n.inputs[1] else local[n.outputs[0]]
                for n in of["RECURRENCE"]
            }
            trip += 1
            if trip > MAX_WHILE_TRIPS:
                raise ReferenceError(f"reference: loop '{region.handle.name}' ran {MAX_WHILE_TRIPS} trips")
        for node in of["LOOP_OUTPUT"]:
            values[node.outputs[0]] = round_to(
                self._loop_output(node, state, last, collected[node.index], values), node.layer.get_output(0).dtype
            )

    def _split(self, order, conditions, body):
        """``order`` split into the units a trip's while-conditions need and the rest."""
        needed: set[int] = set()
        stack = list(conditions)
        while stack:
            producer = self.graph.producer.get(stack.pop())
            if producer is not None and producer in body and producer not in needed:
                needed.add(producer)
                stack.extend(n for n in self.graph.nodes[producer].inputs if n is not None)
        first = [u for u in order if (u.members & needed if isinstance(u, Region) else u in needed)]
        return first, [u for u in order if not any(u is f for f in first)]

    def _loop_output(self, node, state, last, collected, values):
        kind, source = node.layer.kind.name, node.inputs[0]
        if kind == "LAST_VALUE":
            return state[source] if source in state else last[node.index]
        length = int(values[node.inputs[1]].reshape(()))
        if kind == "REVERSE":
            collected = collected[::-1]
        axis = node.layer.axis
        if not collected:
            shape = list(node.layer.get_input(0).shape)
            if -1 in shape:
                raise ReferenceError(
                    f"reference: loop output '{node.layer.name}' ({kind}): the loop ran no trip and "
                    f"its value's shape {tuple(shape)} is not static"
                )
            shape.insert(axis, length)
            return torch.zeros(shape, device=self.device)
        stacked = torch.stack(collected, axis)
        if stacked.shape[axis] < length:
            pad = list(stacked.shape)
            pad[axis] = length - stacked.shape[axis]
            stacked = torch.cat([stacked, stacked.new_zeros(pad)], axis)
        return stacked.narrow(axis, 0, length)
