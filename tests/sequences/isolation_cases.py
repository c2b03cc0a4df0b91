"""Tenant-isolation builders for the sequences routes, merged into tests/test_tenant_isolation.py.

Each builder creates the object in the tenant in context and returns a Case
(`from tests.test_tenant_isolation import Case` inside the builder, to avoid a cycle).
"""

from __future__ import annotations

from saas.extensions import db
from saas.sequences.models import Sequence, Step


def _sequence(status: str = "draft") -> tuple[Sequence, Step, Step]:
    sequence = Sequence(name="Isolated", record_type="lead", status=status, version=1,
                        settings={})
    db.session.add(sequence)
    db.session.flush()
    sequence.lineage_id = sequence.id
    first = Step(sequence_id=sequence.id, branch="main", position=0, type="email",
                 name="Intro", config={"template_id": None})
    second = Step(sequence_id=sequence.id, branch="main", position=1, type="task",
                  name="Book a meeting", config={})
    db.session.add_all([first, second])
    db.session.flush()
    return sequence, first, second


def _case(method: str = "GET", status: str = "draft", data: dict | None = None,
          with_step: bool = False):
    def build(tenant):
        from tests.test_tenant_isolation import Case

        sequence, _first, second = _sequence(status)
        values = {"sequence_id": sequence.id}
        if with_step:
            values["step_id"] = second.id
        return Case(values, method, data or {})
    return build


CASES: dict = {
    "sequences.designer": _case(),
    "sequences.export": _case(),
    "sequences.settings": _case(),
    "sequences.activate": _case(),
    "sequences.skip_wait_setting": _case("POST", status="active",
                                         data={"allow_skip_wait": "y"}),
    "sequences.save": _case("POST"),
    "sequences.edit": _case("POST", status="active"),
    "sequences.clone": _case("POST"),
    "sequences.deactivate": _case("POST", status="active"),
    "sequences.delete": _case("POST"),
    "sequences.add_step": _case("POST", data={"type": "call", "place": "root:main:2"}),
    "sequences.save_step": _case("POST", data={"name": "Renamed"}, with_step=True),
    "sequences.delete_step": _case("POST", with_step=True),
    "sequences.move_step": _case("POST", data={"direction": "up"}, with_step=True),
}
