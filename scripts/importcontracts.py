"""An import-linter contract type: no import cycle between the modules of some packages.

import-linter's own ``acyclic_siblings`` compares whole sibling packages (``dcc.leads`` and
``dcc.calls`` as two blocks), which is stricter than "no cycle"; this contract follows the
imports module by module, the way Python executes them, and names each cycle it finds.
Function-level imports count: they are cycles in disguise. Registered in pyproject.toml; run
as ``PYTHONPATH=scripts lint-imports`` (``.ci/run`` does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class AcyclicModules(Contract):
    """Options: ``packages``, the packages whose modules must not import each other in a circle."""

    type_name = "acyclic_modules"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        roots = [str(p) for p in self.packages]  # type: ignore[attr-defined]
        modules = {m for m in graph.modules if any(m == r or m.startswith(r + ".") for r in roots)}
        cycles = [
            _a_cycle(graph, component)
            for component in strongly_connected(modules, graph.find_modules_directly_imported_by)
            if len(component) > 1
        ]
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(" -> ".join([*cycle, cycle[0]]), bold=False)
            output.new_line()


def strongly_connected(nodes: set[str], edges_of: Callable[[str], set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of the import graph restricted to ``nodes``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    for root in sorted(nodes):
        if root in index:
            continue
        # An explicit stack of (module, its remaining imports): no recursion limit to hit.
        work: list[tuple[str, Iterable[str]]] = [(root, iter(()))]
        _visit(root, index, low, stack, on_stack)
        work[-1] = (root, iter(sorted(n for n in edges_of(root) if n in nodes)))
        while work:
            module, pending = work[-1]
            for target in pending:
                if target not in index:
                    _visit(target, index, low, stack, on_stack)
                    work.append((target, iter(sorted(n for n in edges_of(target) if n in nodes))))
                    break
                if target in on_stack:
                    low[module] = min(low[module], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    found.append(sorted(component))
    return found


def _visit(
    module: str, index: dict[str, int], low: dict[str, int], stack: list[str], on: set[str]
) -> None:
    index[module] = low[module] = len(index)
    stack.append(module)
    on.add(module)


def _a_cycle(graph: grimp.ImportGraph, component: list[str]) -> list[str]:
    """One circle through the component's first module, as the chain of imports."""
    start = component[0]
    members = set(component)
    for imported in sorted(graph.find_modules_directly_imported_by(start) & members):
        chain = graph.find_shortest_chain(importer=imported, imported=start)
        if chain is not None and set(chain) <= members:
            return [start, *chain[:-1]]
    return component
