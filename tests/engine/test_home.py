"""The home page's figures for a sequence manager: their own worklist, the tenant's sequences,
and the connections waiting for a seller."""

from __future__ import annotations

import re

from saas.engine.connect import connect_many
from saas.extensions import db
from tests.engine.factories import build_sequence
from tests.engine.test_advance import TASK


def _text(html: str, card: str) -> str:
    block = html.split(f'id="home-{card}">')[1].split("</a>")[0]
    return " ".join(re.sub(r"<[^>]+>", " ", block).split())


def test_a_manager_sees_what_waits_today_and_how_sequences_do(world, login, client,
                                                              add_records):
    owned = world.add(3)
    unowned = add_records(world.tenant, 2, owner_id=None,
                          email=lambda i: f"nobody{i}@example.com")
    mine = add_records(world.tenant, 1, owner_id=world.manager.id,
                       email="mine@example.com")
    with world.inside():
        seq = build_sequence([TASK], name="Trade show follow-up")
        build_sequence([TASK], name="Draft one", status="draft")
        connect_many(owned + unowned + mine, seq.lineage_id)
        db.session.commit()
        lineage = seq.lineage_id
    login(client, world.manager)
    html = client.get("/acme/").get_data(as_text=True)
    assert _text(html, "worklist") == "My worklist 1 due today 1 open activity in all."
    assert "1 active · 6 records running" in _text(html, "sequences")
    waiting = _text(html, "waiting")
    assert "2 connections wait for a seller." in waiting
    assert "Most in “Trade show follow-up”" in waiting
    assert f'href="/acme/sequences/{lineage}/connected?status=unassigned"' in html


def test_nothing_waiting_shows_no_card(world, login, client):
    login(client, world.manager)
    html = client.get("/acme/").get_data(as_text=True)
    assert "Nothing to do right now." in _text(html, "worklist")
    assert "0 active · 0 records running" in _text(html, "sequences")
    assert 'id="home-waiting"' not in html
