"""Changing a draft's steps: add, save, delete, move; copying a tree of steps (versions, clones,
built-in templates and imports all create steps through `create_nested`)."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _l
from saas.sequences import queries, rules
from saas.sequences.models import Sequence, SequenceStatus, Step
from saas.sequences.steps import BY_TYPE, default_config, default_name
from saas.timeutil import utcnow


class StepInvalid(ServiceError):
    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__(_l("The step has problems."))
        self.problems = problems


def lock(sequence: Sequence) -> None:
    """Take the sequence row for this transaction (edits, activation and deactivation of one
    sequence take turns) and read its status afresh."""
    db.session.refresh(sequence, with_for_update=True)


def require_draft(sequence: Sequence) -> None:
    lock(sequence)
    if sequence.status != SequenceStatus.DRAFT:
        raise ServiceError(_l("This version is read-only: choose “Edit” to make a new "
                              "version and change that."))


def _touch(sequence: Sequence) -> None:
    sequence.updated_at = utcnow()


def _branch(sequence_id: int, parent_id, branch: str) -> list[Step]:
    return list(db.session.execute(
        select(Step).where(Step.sequence_id == sequence_id, Step.branch == branch,
                           Step.parent_id.is_(None) if parent_id is None
                           else Step.parent_id == parent_id)
        .order_by(Step.position, Step.id)).scalars())


def _renumber(steps: list[Step]) -> None:
    for index, step in enumerate(steps):
        step.position = index


def add_step(sequence: Sequence, kind: str, *, parent_id: int | None, branch: str,
             position: int | None) -> Step:
    """A new step of `kind` at `position` in the branch (at its end when None)."""
    require_draft(sequence)
    if kind not in BY_TYPE:
        raise ServiceError(_l("Choose a step type from the list."))
    if parent_id is not None:
        parent = db.session.execute(select(Step).where(
            Step.id == parent_id, Step.sequence_id == sequence.id)).scalar_one_or_none()
        if parent is None or parent.type not in rules.CONDITIONS or branch not in ("yes", "no"):
            raise ServiceError(_l("A step can only be added under a condition's Yes or No "
                                  "branch."))
    elif branch != "main":
        raise ServiceError(_l("A step can only be added under a condition's Yes or No branch."))
    siblings = _branch(sequence.id, parent_id, branch)
    position = len(siblings) if position is None else max(0, min(position, len(siblings)))
    if siblings and position > 0 and siblings[position - 1].type in rules.CONDITIONS + (
            "move_to_sequence",):
        raise ServiceError(_l("Nothing can follow a condition or a move to another sequence "
                              "in its branch."))
    step = Step(sequence_id=sequence.id, parent_id=parent_id, branch=branch, position=position,
                type=kind, name=default_name(kind), description="",
                config=default_config(kind))
    siblings.insert(position, step)
    db.session.add(step)
    _renumber(siblings)
    _touch(sequence)
    db.session.commit()
    return step


def save_step(sequence: Sequence, step: Step, *, name: str, description: str,
              config: dict) -> list[tuple[str, str]]:
    """Saves the step when its own settings are valid (else StepInvalid); returns what still
    stands in the way of activation at its place in the tree (e.g. a branch ending in a wait)."""
    require_draft(sequence)
    if step.type == "ab_test":
        name = (config.get("display_name") or "").strip() or default_name("ab_test")
    candidate = {"id": step.id, "parent_id": step.parent_id, "branch": step.branch,
                 "position": step.position, "type": step.type, "name": (name or "").strip(),
                 "description": (description or "").strip(), "config": config}
    context = queries.rules_context(sequence)
    own = rules.check_step(candidate, context)
    if own:
        db.session.rollback()
        raise StepInvalid(own)
    step.name, step.description, step.config = candidate["name"], candidate["description"], \
        config
    _touch(sequence)
    db.session.commit()
    return rules.step_problems(step.id, queries.as_dicts(queries.steps_of(sequence.id)), context)


def _descendant_ids(sequence_id: int, step_id: int) -> list[int]:
    steps = queries.steps_of(sequence_id)
    children: dict = {}
    for s in steps:
        children.setdefault(s.parent_id, []).append(s.id)
    out, todo = [], [step_id]
    while todo:
        current = todo.pop()
        for child in children.get(current, []):
            out.append(child)
            todo.append(child)
    return out


def delete_step(sequence: Sequence, step: Step, *, keep: str = "none") -> None:
    """Removes a step; the steps after it move up. For a condition, `keep` is "none" (its
    branches go too) or "yes"/"no" (that branch's steps take the condition's place)."""
    require_draft(sequence)
    whole = _branch(sequence.id, step.parent_id, step.branch)
    at = next(i for i, s in enumerate(whole) if s.id == step.id)
    siblings = whole[:at] + whole[at + 1:]
    order = siblings
    if step.type in rules.CONDITIONS and keep in ("yes", "no"):
        kept = _branch(sequence.id, step.id, keep)
        for moved in kept:  # their own sub-branches stay attached to them
            moved.parent_id, moved.branch = step.parent_id, step.branch
        db.session.flush()
        order = siblings[:at] + kept + siblings[at:]
    doomed = _descendant_ids(sequence.id, step.id)
    if doomed:
        db.session.execute(delete(Step).where(Step.id.in_(doomed)))
    db.session.execute(delete(Step).where(Step.id == step.id))
    db.session.expire_all()
    order = [db.session.execute(select(Step).where(Step.id == s.id)).scalar_one() for s in order]
    _renumber(order)
    _touch(sequence)
    db.session.commit()


def move_step(sequence: Sequence, step: Step, direction: str) -> None:
    require_draft(sequence)
    siblings = _branch(sequence.id, step.parent_id, step.branch)
    index = next(i for i, s in enumerate(siblings) if s.id == step.id)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(siblings):
        raise ServiceError(_l("The step is already at the top of its branch.")
                           if direction == "up"
                           else _l("The step is already at the bottom of its branch."))
    siblings[index], siblings[other] = siblings[other], siblings[index]
    _renumber(siblings)
    _touch(sequence)
    db.session.commit()


def nested(steps: list[dict]) -> list[dict]:
    """Flat step dicts as a nested tree: [{"type", "name", "description", "config", "yes",
    "no"}] (the shape of built-in templates and exports)."""
    groups = rules.branches(steps)

    def build(parent, branch):
        out = []
        for s in groups.get((parent, branch), []):
            node = {"type": s["type"], "name": s["name"],
                    "description": s.get("description") or "", "config": s.get("config") or {}}
            if s["type"] in rules.CONDITIONS:
                node["yes"], node["no"] = build(s["id"], "yes"), build(s["id"], "no")
            out.append(node)
        return out

    return build(None, "main")


def flatten(nodes: list[dict]) -> list[dict]:
    """A nested tree as flat step dicts with temporary ids ("n0", "n1"...), for the rules."""
    out: list[dict] = []

    def walk(items, parent, branch):
        for position, node in enumerate(items or []):
            sid = f"n{len(out)}"
            out.append({"id": sid, "parent_id": parent, "branch": branch, "position": position,
                        "type": node.get("type"), "name": node.get("name") or "",
                        "description": node.get("description") or "",
                        "config": node.get("config") or {}})
            if node.get("type") in rules.CONDITIONS:
                walk(node.get("yes"), sid, "yes")
                walk(node.get("no"), sid, "no")

    walk(nodes, None, "main")
    return out


def create_nested(sequence_id: int, nodes: list[dict]) -> dict:
    """Creates the steps of a nested tree (flushes, does not commit); temp id -> Step."""
    created: dict = {}
    for item in flatten(nodes):
        parent = created.get(item["parent_id"])
        step = Step(sequence_id=sequence_id, parent_id=parent.id if parent else None,
                    branch=item["branch"], position=item["position"], type=item["type"],
                    name=item["name"][:120], description=item["description"],
                    config=item["config"])
        db.session.add(step)
        db.session.flush()
        created[item["id"]] = step
    return created


def copy_steps(source_id: int, target_id: int) -> None:
    create_nested(target_id, nested(queries.as_dicts(queries.steps_of(source_id))))


def clear_steps(sequence_id: int) -> None:
    db.session.execute(update(Step).where(Step.sequence_id == sequence_id).values(parent_id=None))
    db.session.execute(delete(Step).where(Step.sequence_id == sequence_id))
