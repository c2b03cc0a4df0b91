"""Template output has bounds (issue 17, hole 4): size (256 KB for an email, 1,600 characters for
an SMS), loop iterations, a time budget, and filters that would allocate a lot refused before
they do. Each fails with a clear message when rendering and when the template is saved."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saas.auth.models import Role
from saas.extensions import db
from saas.messaging import rendering
from saas.messaging.render_limits import EMAIL_MAX_BYTES, SMS_MAX_CHARACTERS
from saas.messaging.rendering import RenderError, RenderLimitExceeded
from saas.templates_ import services
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context

CONTEXT = rendering.build_context({"first_name": "Ann", "company": "Globex"})
NESTED = ("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}x"
          "{% endfor %}{% endfor %}{% endfor %}")
DOUBLING = "{% set a = 'x' * 10000 %}" + "".join(
    f"{{% set {n} = {p} ~ {p} %}}" for p, n in zip("abcdefghijklmnopqrstuvwxy",
                                                   "bcdefghijklmnopqrstuvwxyz", strict=True)
) + "{{ z|length }}"
# Each (template, words its message must contain): all from the probes of issue 17 or alike.
HEAVY = [
    ("{{ '%020000000d'|format(1) }}", "format width"),
    ("{{ '%020000000d' % 1 }}", "format width"),
    ("{{ 'x'|center(20000000) }}", "center width"),
    ("{{ 'x'|indent(20000000) }}", "indent"),
    ("{{ 'a\nb'|indent(20000000, true) }}", "indent"),
    (NESTED, "loops run more than 10,000 times"),
    (DOUBLING, "longer than 256 KB"),
    ("{% set a = 'x' * 10000 %}{% set b = a + a %}{% set c = b + b %}{% set d = c + c %}"
     "{% set e = d + d %}{% set f = e + e %}{{ f }}", "longer than 256 KB"),
    ("{{ 'x' * 20000000 }}", "repeat text"),
    ("{{ ('a' * 1000)|replace('a', 'b' * 10000) }}", "longer than 256 KB"),
    ("{{ range(1000)|join('x' * 10000) }}", "longer than 256 KB"),
    ("{{ range(1000)|map('center', 20000000)|join }}", "center width"),
    ("{{ ('ab ' * 3000)|wordwrap(1, wrapstring='y' * 100) }}", "longer than 256 KB"),
    ("{{ [1]|batch(20000000, 'x')|list }}", "batch size"),
    ("{{ [1]|slice(20000000, 'x')|list }}", "slices"),
    ("{{ range(2000)|list }}", "range() is limited"),
    ("{% set n = 99999999999 %}{% set n = n * n %}{% set n = n * n %}{% set n = n * n %}"
     "{% set n = n * n %}{% set n = n * n %}{% set n = n * n %}{% set n = n * n %}{{ n }}",
     "too large a number"),
    ("{{ 'y' * 9000 }}" * 40, "longer than 256 KB (an email's limit) once rendered"),
]


@pytest.mark.parametrize(("source", "words"), HEAVY)
def test_heavy_templates_fail_with_a_clear_message(source, words):
    for render in (rendering.render_text, rendering.render_html):
        with pytest.raises(RenderLimitExceeded) as refused:
            render(source, CONTEXT)
        assert words in str(refused.value)


def test_an_sms_is_bounded_at_1600_characters():
    exactly = "{{ 'x' * 1600 }}"
    assert len(rendering.render_text(exactly, CONTEXT, sms=True)) == SMS_MAX_CHARACTERS
    with pytest.raises(RenderLimitExceeded, match="1,600 characters \\(an SMS's limit\\)"):
        rendering.render_text(exactly + "!", CONTEXT, sms=True)
    # The same text is a fine email.
    assert len(rendering.render_text(exactly + "!", CONTEXT)) == 1601


def test_an_email_is_bounded_at_256_kb_of_utf8():
    body = "{{ 'é' * 10000 }}" * 14  # 140,000 characters, 280,000 bytes
    with pytest.raises(RenderLimitExceeded, match="256 KB"):
        rendering.render_html(body, CONTEXT)
    assert len(rendering.render_html("{{ 'é' * 10000 }}" * 12, CONTEXT)) == 120_000


def test_a_slow_template_is_stopped_by_the_time_budget():
    big = "{% set s = 'ab' * 5000 %}{% set t = " + " ~ ".join(["s"] * 24) + " %}"
    work = ("{% for i in range(1000) %}{% for j in range(9) %}"
            "{{ (t|replace('a', 'c')|upper|lower|title|length > 0) and '' }}"
            "{% endfor %}{% endfor %}")
    with pytest.raises(RenderLimitExceeded, match="takes longer than 1 second"):
        rendering.render_text(big + work, CONTEXT)


def test_method_calls_and_recursive_loops_are_refused_even_if_saved():
    with pytest.raises(RenderError, match="methods of values"):
        rendering.render_text("{{ 'x'.center(20000000) }}", CONTEXT)
    with pytest.raises(RenderError, match="recursive loops"):
        rendering.render_text("{% for c in 'ab' recursive %}{{ loop('ab') }}{% endfor %}",
                              CONTEXT)


def test_ordinary_templates_are_unchanged():
    source = ("Hi {{ record.first_name|title }} of {{ record.company|upper }}! "
              "{% for word in ['a', 'b'] %}{{ word }}{% endfor %} {{ '%s.' % tenant.name }} "
              "{{ 'x'|center(5) }}|{{ range(3)|join(', ') }}|{{ record.first_name * 2 }}")
    assert rendering.render_text(source, CONTEXT) == \
        "Hi Ann of GLOBEX! ab .   x  |0, 1, 2|AnnAnn"


# -- Hypothesis: random templates stay within the limits or fail with a RenderError ---------

_WIDTHS = st.sampled_from([0, 1, 7, 80, 999, 10_000, 10_001, 65_536, 20_000_000, 2**40])
_TEXTS = st.sampled_from(["''", "'x'", "record.first_name", "'ab\\ncd'", "('z' * 9999)"])


@st.composite
def _expression(draw, depth=0):
    text = draw(_TEXTS)
    if depth > 2:
        return text
    inner = draw(_expression(depth=depth + 1))
    width = draw(_WIDTHS)
    return draw(st.sampled_from([
        text, f"({inner} ~ {inner})", f"({inner} + {text})", f"{inner}|center({width})",
        f"{inner}|indent({width}, true)", f"'%0{width}d'|format(1)", f"{inner}|upper",
        f"{inner}|replace('x', {inner})", f"range({min(width, 5000)})|join({inner})",
        f"({inner} * {min(width, 100_000)})", f"{inner}|wordwrap({width or 1})",
        f"{inner}|truncate({width})", f"[{inner}]|batch({width or 1}, 'q')|list|string",
    ]))


@st.composite
def _template(draw, depth=0):
    expr = draw(_expression())
    if depth > 2:
        return f"{{{{ {expr} }}}}"
    body = draw(_template(depth=depth + 1))
    times = draw(st.sampled_from([0, 1, 3, 100, 999, 1000]))
    return draw(st.sampled_from([
        f"{{{{ {expr} }}}}",
        f"{{% for i in range({times}) %}}{body}{{% endfor %}}",
        f"{{% set v = {expr} %}}{body}{{{{ v }}}}",
        f"{body}{body}",
        f"{{% if record.first_name %}}{body}{{% endif %}}",
    ]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=_template(), sms=st.booleans(), html=st.booleans())
def test_any_template_renders_within_the_limits_or_says_why(source, sms, html):
    try:
        if html:
            out = rendering.render_html(source, CONTEXT)
            size = len(out.encode())
        else:
            out = rendering.render_text(source, CONTEXT, sms=sms)
            size = len(out) if sms else len(out.encode())
    except RenderLimitExceeded as refused:
        assert str(refused).endswith((".", "KB.")) and len(str(refused)) < 200
        return
    except RenderError:
        return  # a template's own fault (a bad argument): still a RenderError, never a crash
    assert size <= (SMS_MAX_CHARACTERS if sms and not html else EMAIL_MAX_BYTES)
    if html:  # sanitizing never lets the escaped output past the bound either
        assert size <= EMAIL_MAX_BYTES


# -- at save time ----------------------------------------------------------------------------

@pytest.fixture
def manager(make_tenant, make_user):
    tenant = make_tenant("acme", name="Acme Corp")
    return make_user(tenant, roles=[Role.SEQUENCE_MANAGER], email="mia@acme.example")


def _count(app, tenant_id) -> int:
    with app.app_context(), tenant_context(tenant_id):
        return db.session.query(MessageTemplate).count()


def test_a_40_mb_template_is_refused_when_saved(app, manager):
    huge = "<p>" + "x" * (40 * 1024 * 1024) + "</p>"
    with app.app_context(), tenant_context(manager.tenant.id):
        with pytest.raises(services.TemplateInvalid) as refused:
            services.save_template(None, kind="email", name="Huge", language="en",
                                   subject="Hi", html_body=huge)
    assert refused.value.errors["html_body"] == [
        "The template is 40 MB long; a template may be at most 256 KB."]
    assert _count(app, manager.tenant.id) == 0


@pytest.mark.parametrize(("field", "source", "words"), [
    ("html_body", "<p>{{ 'x'|center(20000000) }}</p>", "A center width of 20,000,000"),
    ("html_body", f"<p>{NESTED}</p>", "loops run more than 10,000 times"),
    ("html_body", "<p>" + "y" * (300 * 1024) + "</p>", "a template may be at most 256 KB"),
    ("text_body", "{{ '%020000000d'|format(1) }}", "A format width of 20000000"),
    ("subject", "{{ 'x'|indent(20000000) }}", "An indent of 20,000,000"),
])
def test_the_template_form_says_which_limit(app, client, login, manager, field, source, words):
    login(client, manager)
    data = {"name": "Heavy", "language": "en", "subject": "Hi", "text_body": "",
            "html_body": "<p>Hello</p>", field: source}
    page = client.post("/acme/templates/new?kind=email", data=data)
    assert page.status_code in (200, 422)
    assert words in page.text
    assert _count(app, manager.tenant.id) == 0


def test_an_sms_over_1600_characters_is_refused_when_saved(app, client, login, manager):
    login(client, manager)
    page = client.post("/acme/templates/new?kind=sms", data={
        "name": "Long", "language": "en", "body": "{% for i in range(9) %}{{ 'z' * 200 }}"
                                                  "{% endfor %}"})
    assert "1,600 characters (an SMS&#39;s limit)" in page.text
    assert _count(app, manager.tenant.id) == 0
    ok = client.post("/acme/templates/new?kind=sms", data={
        "name": "Fine", "language": "en", "body": "{{ 'z' * 1600 }}"})
    assert ok.status_code == 302 and _count(app, manager.tenant.id) == 1
