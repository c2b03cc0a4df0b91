"""Sandboxed rendering of tenant templates: merge fields, validation with lines, sanitising,
HTML to text, SMS parts."""

from __future__ import annotations

import pytest

from saas.messaging import rendering
from saas.messaging.rendering import build_context, count_sms, html_to_text, validate


def _context(**record):
    values = {"first_name": "Ann", "last_name": "Lee", "company": "Globex",
              "custom": {"tier": "gold"}}
    values.update(record)
    return build_context(values, seller={"name": "Sam Seller", "email": "sam@x.example"},
                         tenant_name="Acme", unsubscribe_url="https://u.example/u/1",
                         custom_keys=["tier", "region"])


def test_merge_fields_render_including_custom_fields():
    source = ("Hi {{ record.first_name }} of {{ record.company }} ({{ record.custom.tier }}/"
              "{{ record.custom['tier'] }}/{{ record.custom.region }}). {{ seller.name }}, "
              "{{ tenant.name }}: {{ unsubscribe_url }} {{ record.full_name|upper }}")
    assert validate(source, custom_keys=["tier", "region"]) == []
    assert rendering.render_text(source, _context()) == (
        "Hi Ann of Globex (gold/gold/). Sam Seller, Acme: https://u.example/u/1 ANN LEE")


def test_context_is_plain_strings_never_objects():
    context = build_context({"first_name": "Ann", "estimated_value": 12, "custom": {"n": 3}},
                            custom_keys=["n"])
    assert context["record"]["estimated_value"] == "12"
    assert context["record"]["custom"]["n"] == "3"
    assert all(isinstance(v, str) for v in context["seller"].values())


def test_unknown_field_refused_with_its_line():
    assert validate("Hello\n\n{{ record.nickname }}") == [
        "Line 3: unknown field “record.nickname”"]
    assert validate("Hi\n{{ record.custom.tier }}", custom_keys=["region"]) == [
        "Line 2: unknown custom field “record.custom.tier”"]
    assert validate("one\ntwo {{ first_name }}") == ["Line 2: unknown field “first_name”"]
    assert validate("{{ seller.password_hash }}") == [
        "Line 1: unknown field “seller.password_hash”"]


def test_syntax_error_refused_with_its_line():
    errors = validate("Hello\n{% if record.first_name %}\nno end")
    assert len(errors) == 1 and errors[0].startswith("Line 2: Unexpected end of template")
    errors = validate("a\nb\n{{ record.first_name ")
    assert errors[0].startswith("Line 3:")
    assert validate("{{ record.first_name|nosuchfilter }}") == [
        "Line 1: No filter named 'nosuchfilter'."]


@pytest.mark.parametrize("source", [
    "{{ record.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ config }}",
    "{{ self }}",
    "{{ lipsum.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ record.first_name.__class__ }}",
    "{{ record.custom.__class__ }}",
    "{{ record.first_name.format(record) }}",
    "{% import 'base.html' as b %}",
    "{% from 'base.html' import x %}",
    "{% include 'base.html' %}",
    "{% extends 'base.html' %}",
    "{{ record[record.first_name] }}",
])
def test_sandbox_escapes_refused_at_save(source):
    assert validate(source, custom_keys=["tier"]), source


def test_sandbox_holds_even_when_validation_is_skipped():
    context = _context()
    with pytest.raises(rendering.RenderError):
        rendering.render_text("{{ ''.__class__.__mro__ }}", context)
    with pytest.raises(rendering.RenderError):
        rendering.render_text("{% include 'base.html' %}", context)
    assert rendering.render_text("{{ config }}{{ request }}", context) == ""
    assert rendering.render_text("{{ record|attr('__class__') }}", context) == ""


@pytest.mark.parametrize("source", [
    "{{ 'a' * 100000000 }}",
    "{{ 100000000 * 'a' }}",
    "{% for i in range(100000) %}{% endfor %}",
    "{% for i in range(10 ** 9) %}{% endfor %}",
])
def test_a_template_cannot_make_the_server_work_hard(source):
    with pytest.raises(rendering.RenderError):
        rendering.render_text(source, _context())


def test_small_arithmetic_and_loops_still_work():
    assert rendering.render_text(
        "{{ 2 * 3 }} {{ 'ab' * 2 }}{% for i in range(3) %}{{ i }}{% endfor %}",
        _context()) == "6 abab012"


def test_html_is_sanitised_and_merge_values_escaped():
    html = rendering.render_html(
        '<p onclick="steal()">Hi {{ record.first_name }}</p><script>alert(1)</script>'
        '<a href="javascript:alert(1)">x</a><img src=x onerror="alert(1)">',
        _context(first_name="<b onmouseover=x>Ann</b>"))
    assert "script" not in html and "onclick" not in html and "onerror" not in html
    assert "javascript:" not in html and "<b onmouseover" not in html
    assert "<p>Hi &lt;b onmouseover=x&gt;Ann&lt;/b&gt;</p>" in html  # a value is text, escaped


def test_text_generated_from_html():
    text = html_to_text(
        "<h1>Hello Ann</h1>\n<p>Thanks for <b>visiting</b> our stand.<br>See "
        '<a href="https://acme.example/demo">the demo</a>.</p><ul><li>one</li><li>two</li></ul>'
        "<style>p { color: red }</style><p>Q&amp;A</p>")
    assert text == ("Hello Ann\n\nThanks for visiting our stand.\n"
                    "See the demo (https://acme.example/demo).\n\n- one\n- two\n\nQ&A")


def test_sms_gsm7_parts():
    assert count_sms("") .parts == 0
    one = count_sms("a" * 160)
    assert (one.encoding, one.characters, one.parts, one.per_part) == ("GSM-7", 160, 1, 160)
    two = count_sms("a" * 161)
    assert (two.characters, two.parts, two.per_part) == (161, 2, 153)
    assert count_sms("a" * 306).parts == 2 and count_sms("a" * 307).parts == 3
    assert count_sms("é" * 160).encoding == "GSM-7"  # é is in the GSM-7 basic set


def test_sms_extension_characters_count_two():
    euro = count_sms("€" * 80)
    assert (euro.encoding, euro.characters, euro.parts) == ("GSM-7", 160, 1)
    assert count_sms("[" + "a" * 159).parts == 2
    assert count_sms("{}").characters == 4


def test_sms_switches_to_ucs2():
    one = count_sms("ł" * 70)
    assert (one.encoding, one.characters, one.parts, one.per_part) == ("UCS-2", 70, 1, 70)
    two = count_sms("ł" * 71)
    assert (two.parts, two.per_part) == (2, 67)
    mixed = count_sms("a" * 69 + "😀")  # an emoji is two UCS-2 units
    assert (mixed.encoding, mixed.characters, mixed.parts) == ("UCS-2", 71, 2)
    assert count_sms("a" * 134 + "ł").parts == 3  # 135 units / 67
