"""Every designer rule, on plain lists of steps (the module export/import and activation share)."""

from __future__ import annotations

import pytest

from saas.sequences import rules
from saas.sequences.steps import default_config

TEMPLATES = {1: ("email", "Welcome"), 2: ("sms", "Short hello")}
CTX = rules.Context(templates=TEMPLATES, sequences={7: "Nurture", 9: "Self"}, lineage_id=9)


def step(sid, kind, parent=None, branch="main", position=None, name=None, **config):
    return {"id": sid, "parent_id": parent, "branch": branch,
            "position": position if position is not None else 0, "type": kind,
            "name": name if name is not None else kind,
            "config": {**default_config(kind), **config}}


def main(*steps):
    out = []
    for position, s in enumerate(steps):
        s["position"] = position
        out.append(s)
    return out


def messages(steps, ctx=CTX):
    return [p.message for p in rules.check_sequence(steps, ctx)]


def own(kind, ctx=CTX, **config):
    return [m for _, m in rules.check_step(step(1, kind, **config), ctx)]


def test_a_valid_sequence_has_no_problems():
    steps = main(step(1, "email"), step(2, "wait", days=0, hours=1), step(3, "call"),
                 step(4, "call_condition", outcomes=["connected"]))
    steps += [step(5, "task", parent=4, branch="yes"), step(6, "auto_email", parent=4,
                                                             branch="no", template_id=1)]
    assert messages(steps) == []


def test_at_least_one_step():
    assert messages([]) == [rules.NEEDS_STEPS]


@pytest.mark.parametrize("days,hours", [(0, 0), (30, 1), (31, 0), (-1, 5)])
def test_wait_between_one_hour_and_thirty_days(days, hours):
    problems = own("wait", days=days, hours=hours)
    assert problems and problems[0] in (rules.WAIT_RANGE,
                                        "Enter whole numbers of days and hours.")


@pytest.mark.parametrize("days,hours", [(0, 1), (30, 0), (2, 5)])
def test_wait_limits_are_inclusive(days, hours):
    assert own("wait", days=days, hours=hours) == []


def test_wait_refuses_text():
    assert own("wait", days="soon", hours=0) == ["Enter whole numbers of days and hours."]


def test_no_branch_may_end_with_a_wait():
    assert messages(main(step(1, "email"), step(2, "wait"))) == [rules.BRANCH_ENDS_WITH_WAIT]
    steps = main(step(1, "email"), step(2, "email_condition"))
    steps += [step(3, "wait", parent=2, branch="no")]
    assert messages(steps) == [rules.BRANCH_ENDS_WITH_WAIT]


def test_automated_sends_need_a_template():
    assert own("auto_email") == ["An automated email needs a template: choose one."]
    assert own("auto_sms") == ["An automated text message needs a template: choose one."]
    assert own("email") == [] and own("sms") == []


def test_templates_exist_and_match_the_channel():
    assert own("auto_email", template_id=2) == [
        "“Short hello” is not an email template: choose an email template."]
    assert own("sms", template_id=1) == [
        "“Welcome” is not an SMS template: choose an SMS template."]
    assert own("email", template_id=99) == ["This template no longer exists: choose another one."]


def _ab(**overrides):
    config = default_config("ab_test")
    config.update(overrides)
    return config


@pytest.mark.parametrize("split", [9, 91, 0, 100, "half"])
def test_ab_split_between_10_and_90(split):
    assert own("ab_test", **_ab(split_a=split)) == [rules.SPLIT_RANGE]


@pytest.mark.parametrize("split", [10, 50, 90])
def test_ab_split_limits_are_inclusive(split):
    assert own("ab_test", **_ab(split_a=split)) == []


def test_ab_versions_are_email_steps_with_templates_when_automated():
    versions = {"A": {"type": "sms", "name": "A", "template_id": None},
                "B": {"type": "auto_email", "name": "B", "template_id": None}}
    assert own("ab_test", **_ab(versions=versions)) == [
        "Version A must be an email or an automated email.",
        "Version B (an automated email) needs a template: choose one."]
    versions["A"] = {"type": "email", "name": "A", "template_id": 2}
    versions["B"]["template_id"] = 1
    assert own("ab_test", **_ab(versions=versions)) == [
        "“Short hello” is not an email template: choose an email template."]


def test_ab_end_date_metric_and_default_version():
    assert own("ab_test", **_ab(ends="at", end_at=None)) == [
        "Enter the date and time the test ends."]
    assert own("ab_test", **_ab(ends="at", end_at="2030-01-01T10:00:00+00:00")) == []
    assert own("ab_test", **_ab(metric="sales", default_version="C")) == [
        "Choose the winning metric: opens, clicks or goal reached.",
        "Choose the default version, A or B."]


def test_email_condition_must_follow_an_email_step():
    assert messages(main(step(1, "call"), step(2, "email_condition"))) == [
        rules.EMAIL_CONDITION_ORDER]
    for kind in ("email", "auto_email", "ab_test"):
        first = step(1, kind, template_id=1) if kind == "auto_email" else step(1, kind)
        assert messages(main(first, step(2, "task"), step(3, "email_condition"))) == []


def test_email_condition_in_a_branch_sees_the_steps_above_its_parent():
    steps = main(step(1, "email"), step(2, "call"), step(3, "call_condition"))
    steps += [step(4, "email_condition", parent=3, branch="yes")]
    assert messages(steps) == []
    steps = main(step(1, "call"), step(3, "call_condition"))
    steps += [step(4, "email", parent=3, branch="no", position=0),
              step(5, "email_condition", parent=3, branch="yes", position=0)]
    # the email is on the other branch: not on this condition's path
    assert messages(steps) == [rules.EMAIL_CONDITION_ORDER]


def test_call_condition_must_follow_a_phone_call():
    assert messages(main(step(1, "email"), step(2, "call_condition"))) == [
        rules.CALL_CONDITION_ORDER]


def test_condition_time_limit_between_one_hour_and_thirty_days():
    assert own("email_condition", limit_days=0, limit_hours=0) == [rules.LIMIT_RANGE]
    assert own("email_condition", limit_days=30, limit_hours=1) == [rules.LIMIT_RANGE]
    assert own("email_condition", limit_days=30, limit_hours=0) == []


def test_conditions_need_their_choices():
    assert own("email_condition", events=[]) == [
        "Choose what to look for: opened, clicked or replied."]
    assert own("call_condition", outcomes=[]) == [
        "Choose the call outcomes that take the Yes branch."]
    assert own("field_condition") == ["Add a field condition."]


def test_field_condition_uses_the_segment_rule_checker():
    ctx = rules.Context(check_field_rules=lambda tree: {"0": "“nope” is not a field."})
    config = {"rules": {"op": "and", "rules": [{"field": "nope", "operator": "equals"}]}}
    assert own("field_condition", ctx, **config) == ["“nope” is not a field."]


def test_nothing_follows_a_condition_in_its_branch():
    assert messages(main(step(1, "email"), step(2, "email_condition"), step(3, "task"))) == [
        rules.AFTER_CONDITION]


def test_move_to_sequence_never_first():
    assert messages(main(step(1, "move_to_sequence", sequence_id=7))) == [rules.MOVE_FIRST]


def test_move_to_sequence_always_last_in_its_branch():
    assert messages(main(step(1, "email"), step(2, "move_to_sequence", sequence_id=7),
                         step(3, "task"))) == [rules.MOVE_LAST]
    assert messages(main(step(1, "email"), step(2, "move_to_sequence", sequence_id=7))) == []


def test_move_to_sequence_not_into_itself_and_to_an_existing_one():
    assert own("move_to_sequence", sequence_id=9) == [rules.MOVE_ITSELF]
    assert own("move_to_sequence", sequence_id=None) == [
        "Choose the sequence to move records to."]
    assert own("move_to_sequence", sequence_id=3) == [
        "This sequence no longer exists: choose another."]


def test_update_field_needs_a_known_field():
    assert own("update_field", field="") == ["Choose the field to update."]
    ctx = rules.Context(fields={"status": object()})
    assert own("update_field", ctx, field="shoe_size", value="4") == [
        "“shoe_size” is not a field a sequence can set on these records."]


def test_a_step_needs_a_name_and_a_known_type():
    assert rules.check_step(step(1, "task", name=" "), CTX) == [("name", "Give the step a name.")]
    assert rules.check_step(step(1, "fax"), CTX) == [("type", "Unknown step type “fax”.")]


def test_problems_point_at_their_step():
    steps = main(step(1, "email"), step(2, "wait"))
    assert rules.step_problems(2, steps, CTX) == [("", rules.BRANCH_ENDS_WITH_WAIT)]
    assert rules.step_problems(1, steps, CTX) == []


def test_update_field_checks_the_value_fits_the_field():
    from saas.records.fields import CHOICE, DATE, NUMBER, TEXT, Field, value_problem

    fields = {"status": Field("status", "Status", CHOICE, (("new", "New"), ("qualified",
                                                                          "Qualified"))),
              "custom.seats": Field("custom.seats", "Seats", NUMBER, custom=True),
              "custom.renewal": Field("custom.renewal", "Renewal", DATE, custom=True),
              "company": Field("company", "Company", TEXT)}
    ctx = rules.Context(fields=fields,
                        check_field_value=lambda key, value: value_problem(fields[key], value))
    assert own("update_field", ctx, field="status", value="qualified") == []
    assert own("update_field", ctx, field="status", value="Hot") == [
        "Status takes one of these values: new, qualified."]
    assert own("update_field", ctx, field="custom.seats", value="4.5") == []
    assert own("update_field", ctx, field="custom.seats", value="four") == [
        "Seats is a number: enter a number such as 12 or 4.5."]
    assert own("update_field", ctx, field="custom.renewal", value="2027-01-31") == []
    assert own("update_field", ctx, field="custom.renewal", value="31/01/2027") == [
        "Renewal is a date: enter it as YYYY-MM-DD."]
    assert own("update_field", ctx, field="company", value="") == []


def test_fields_a_sequence_may_set():
    from saas.records.fields import sequence_settable, standard_fields

    settable = {f.key for f in standard_fields("lead") if sequence_settable(f)}
    assert {"first_name", "company", "status", "country"} <= settable
    assert not {"email", "owner_id", "created_at"} & settable
