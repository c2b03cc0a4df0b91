"""A sequence version's step tree, loaded in one query, answering the engine's questions:
the first step of a branch, the step after this one, the closest previous step of some types."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from saas.extensions import db
from saas.sequences.models import Branch, Step, StepType

EMAIL_TYPES = (StepType.EMAIL.value, StepType.AUTO_EMAIL.value, StepType.AB_TEST.value)
CALL_TYPES = (StepType.CALL.value,)


@dataclass(frozen=True)
class StepInfo:
    """A step as plain data (it outlives commits and sessions: a tick reuses it)."""

    id: int
    sequence_id: int
    parent_id: int | None
    branch: str
    position: int
    type: str
    name: str
    config: dict

    @property
    def step_type(self) -> StepType:
        return StepType(self.type)


@dataclass
class StepGraph:
    sequence_id: int
    steps: dict[int, StepInfo] = field(default_factory=dict)
    branches: dict[tuple[int | None, str], list[int]] = field(default_factory=dict)

    def first(self, parent_id: int | None = None,
              branch: str = Branch.MAIN.value) -> StepInfo | None:
        ids = self.branches.get((parent_id, branch)) or []
        return self.steps[ids[0]] if ids else None

    def after(self, step_id: int) -> StepInfo | None:
        """The next step on the same branch (None at the end of the branch)."""
        step = self.steps[step_id]
        ids = self.branches[(step.parent_id, step.branch)]
        index = ids.index(step_id)
        return self.steps[ids[index + 1]] if index + 1 < len(ids) else None

    def next_step(self, step_id: int | None, branch: str | None = None) -> StepInfo | None:
        """Where an enrollment goes after `step_id` (None: the start; `branch` yes/no after a
        condition)."""
        if step_id is None:
            return self.first()
        if branch in (Branch.YES.value, Branch.NO.value):
            return self.first(step_id, branch)
        return self.after(step_id)

    def path_before(self, step_id: int) -> list[StepInfo]:
        """The steps a record passed before reaching `step_id`, closest first."""
        out: list[StepInfo] = []
        step = self.steps[step_id]
        while True:
            ids = self.branches[(step.parent_id, step.branch)]
            index = ids.index(step.id)
            out.extend(self.steps[i] for i in reversed(ids[:index]))
            if step.parent_id is None:
                return out
            step = self.steps[step.parent_id]
            out.append(step)

    def closest_before(self, step_id: int, types: tuple[str, ...]) -> StepInfo | None:
        return next((s for s in self.path_before(step_id) if s.type in types), None)


def load_graph(sequence_id: int) -> StepGraph:
    graph = StepGraph(sequence_id)
    steps = db.session.execute(
        select(Step).where(Step.sequence_id == sequence_id)
        .order_by(Step.parent_id.nulls_first(), Step.branch, Step.position, Step.id)).scalars()
    for row in steps:
        step = StepInfo(row.id, row.sequence_id, row.parent_id, row.branch, row.position,
                        row.type, row.name, dict(row.config or {}))
        graph.steps[step.id] = step
        graph.branches.setdefault((step.parent_id, step.branch), []).append(step.id)
    return graph


class GraphCache:
    """Graphs by sequence id for the length of one tick or one bulk operation."""

    def __init__(self) -> None:
        self._graphs: dict[int, StepGraph] = {}

    def get(self, sequence_id: int) -> StepGraph:
        if sequence_id not in self._graphs:
            self._graphs[sequence_id] = load_graph(sequence_id)
        return self._graphs[sequence_id]
