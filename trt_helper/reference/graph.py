"""The network as the executor walks it: layers with their input/output names, and the regions — loops and
if-conditionals — that run as one unit.

A loop's region is its boundary layers (trip limits, recurrences, iterators, loop outputs) plus every layer whose
value changes between iterations: the forward closure of its recurrence and iterator outputs, stopping at its loop
outputs (layers inside the body that depend on nothing loop-variant compute the same value each trip, so they run
once, outside). A conditional's region is its boundary layers plus, per branch, the layers its outputs need back to
its conditional inputs. A region reached by another region's closure lies inside it (nesting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .registry import ReferenceError, downcast

LOOP_BOUNDARY = ("TRIP_LIMIT", "RECURRENCE", "ITERATOR", "LOOP_OUTPUT")
IF_BOUNDARY = ("CONDITION", "CONDITIONAL_INPUT", "CONDITIONAL_OUTPUT")


@dataclass
class Node:
    """One layer: its index, downcast layer object, type name, input names (None for an absent input), outputs."""

    index: int
    layer: object
    kind: str
    inputs: list
    outputs: list


@dataclass
class Region:
    """A loop or an if-conditional: ``boundary`` layer indices and all ``members`` (boundary, body, nested)."""

    kind: str  # "loop" or "if"
    handle: Any  # the ILoop / IIfConditional (kept alive so identity comparisons hold)
    boundary: list = field(default_factory=list)
    members: set = field(default_factory=set)


class Graph:
    """Layers of a network and its regions."""

    def __init__(self, trt, network):
        self.nodes = []
        for index in range(network.num_layers):
            layer, kind = downcast(trt, network.get_layer(index))
            inputs = [
                layer.get_input(i).name if layer.get_input(i) is not None else None for i in range(layer.num_inputs)
            ]
            outputs = [layer.get_output(i).name for i in range(layer.num_outputs)]
            self.nodes.append(Node(index, layer, kind, inputs, outputs))
        self.producer = {name: node.index for node in self.nodes for name in node.outputs}
        self.consumers: dict[str, list[int]] = {}
        for node in self.nodes:
            for name in node.inputs:
                if name is not None:
                    self.consumers.setdefault(name, []).append(node.index)
        self.regions = self._regions()

    def _regions(self) -> list[Region]:
        regions: list[Region] = []
        for node in self.nodes:
            if node.kind in LOOP_BOUNDARY + IF_BOUNDARY:
                kind = "loop" if node.kind in LOOP_BOUNDARY else "if"
                handle = node.layer.loop if kind == "loop" else node.layer.conditional
                region = next((r for r in regions if r.handle is handle), None)
                if region is None:
                    region = Region(kind, handle)
                    regions.append(region)
                region.boundary.append(node.index)
        for region in regions:
            region.members = set(region.boundary) | self._own_closure(region)
        changed = True
        while changed:  # a region reaching into another contains all of it
            changed = False
            for region in regions:
                for other in regions:
                    if (
                        other is not region
                        and region.members & set(other.boundary)
                        and not (other.members <= region.members)
                    ):
                        region.members |= other.members
                        region.members |= self._own_closure(region, region.members)
                        changed = True
        return regions

    def _own_closure(self, region, start=None) -> set[int]:
        members: set[int] = set(start or ())
        if region.kind == "loop":
            seeds = (
                start
                if start is not None
                else [i for i in region.boundary if self.nodes[i].kind in ("RECURRENCE", "ITERATOR")]
            )
            stack = [
                name
                for i in seeds
                if not (i in region.boundary and self.nodes[i].kind == "LOOP_OUTPUT")
                for name in self.nodes[i].outputs
            ]
            while stack:
                for consumer in self.consumers.get(stack.pop(), []):
                    if consumer in members:
                        continue
                    members.add(consumer)
                    if not (consumer in region.boundary and self.nodes[consumer].kind == "LOOP_OUTPUT"):
                        stack.extend(self.nodes[consumer].outputs)
            return members
        members |= set(region.boundary)
        stops = {i for i in region.boundary if self.nodes[i].kind == "CONDITIONAL_INPUT"}
        stack = [
            name
            for i in region.boundary
            if self.nodes[i].kind == "CONDITIONAL_OUTPUT"
            for name in self.nodes[i].inputs
            if name is not None
        ]
        stack += [name for i in (start or ()) if i not in region.boundary for name in self.nodes[i].inputs if name]
        while stack:
            producer = self.producer.get(stack.pop())
            if producer is None or producer in members or producer in stops:
                continue
            if self.nodes[producer].kind in ("RECURRENCE", "ITERATOR", "TRIP_LIMIT"):
                continue  # a loop's boundary belongs to its loop
            members.add(producer)
            stack.extend(name for name in self.nodes[producer].inputs if name is not None)
        # a branch may read outside tensors directly: a layer that also feeds layers outside stays outside
        pruned = True
        while pruned:
            pruned = False
            for index in list(members - set(region.boundary)):
                if any(c not in members for name in self.nodes[index].outputs for c in self.consumers.get(name, [])):
                    members.discard(index)
                    pruned = True
        return members

    def branch(self, region: Region, which: int) -> set[int]:
        """The layers of ``region`` (an if-conditional) that its outputs' input ``which`` (0: true, 1: false) need."""
        needed: set[int] = set()
        stack = [self.nodes[i].inputs[which] for i in region.boundary if self.nodes[i].kind == "CONDITIONAL_OUTPUT"]
        while stack:
            producer = self.producer.get(stack.pop())
            if producer is None or producer in needed or producer not in region.members:
                continue
            if producer in region.boundary:
                continue
            needed.add(producer)
            stack.extend(name for name in self.nodes[producer].inputs if name is not None)
            for other in self.regions:  # a nested region runs whole
                if other is not region and producer in other.members and other.members < region.members:
                    for i in other.members - needed:
                        needed.add(i)
                        stack.extend(name for name in self.nodes[i].inputs if name is not None)
        return needed

    def schedule(self, indices: set[int], available: set[str]) -> list:
        """Units of ``indices`` in an order that respects data flow: layer indices and outermost regions."""
        inside = [r for r in self.regions if r.members <= indices]
        outermost = [r for r in inside if not any(o is not r and r.members < o.members for o in inside)]
        covered = set().union(*(r.members for r in outermost)) if outermost else set()
        units = [i for i in sorted(indices) if i not in covered] + outermost
        available = set(available)
        order = []
        while units:
            waiting = []
            for unit in units:
                layers = sorted(unit.members) if isinstance(unit, Region) else [unit]
                produced = {name for i in layers for name in self.nodes[i].outputs}
                needed = {name for i in layers for name in self.nodes[i].inputs if name is not None} - produced
                if needed <= available:
                    order.append(unit)
                    available |= produced
                else:
                    waiting.append(unit)
            if len(waiting) == len(units):
                names = [self.nodes[u if isinstance(u, int) else u.boundary[0]].layer.name for u in waiting[:5]]
                raise ReferenceError(f"reference: layers {names} wait for tensors no layer produces")
            units = waiting
        return order
