"""Due times on the worklist and Up next: the seller's zone, relative wording, the record's
own local time when it differs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from saas.auth.models import User
from saas.engine import clock
from saas.engine.models import StepRun
from saas.records.models import Record
from tests.worklist import factories as f

NNBSP = "\u202f"


def _one_activity(world, *, record_zone: str, seller_zone: str, due_at: datetime) -> int:
    with world.data() as session:
        seq = f.sequence([{"type": "call", "name": "Call them"}])
        record = f.lead(first_name="Kenji", last_name="Sato", company="Tokyo Trading")
        record.time_zone = record_zone
        enrollment = f.connect(record, seq, world.seller.id)
        session.flush()
        session.execute(update(StepRun).where(StepRun.enrollment_id == enrollment.id)
                        .values(due_at=due_at))
        session.execute(update(User).where(User.id == world.seller.id)
                        .values(time_zone=seller_zone))
        return record.id


def test_the_worklist_shows_the_due_time_for_the_seller_and_for_the_record(world):
    due = (clock.now() + timedelta(days=2)).replace(hour=1, minute=0, second=0, microsecond=0)
    _one_activity(world, record_zone="Asia/Tokyo", seller_zone="Europe/Paris", due_at=due)
    html = world.client_for(world.seller).get("/acme/worklist").get_data(as_text=True)
    assert "due in 1 day" in html or "due in 2 days" in html
    # 01:00 UTC is 02:00 (winter) or 03:00 (summer) in Paris and 10:00 in Tokyo.
    assert f"AM for you · 10:00{NNBSP}AM in Tokyo" in html
    assert f'<time datetime="{due.isoformat()}"' in html


def test_overdue_in_days_and_no_second_time_in_the_same_zone(world):
    due = clock.now() - timedelta(days=3, hours=1)
    _one_activity(world, record_zone="Europe/Paris", seller_zone="Europe/Paris", due_at=due)
    html = world.client_for(world.seller).get("/acme/worklist").get_data(as_text=True)
    assert '<strong class="wl-late"><time' in html and "3 days overdue</time>" in html
    assert "for you ·" not in html


def test_up_next_shows_the_due_time_in_both_zones(world):
    due = datetime(2030, 1, 15, 8, 0, tzinfo=UTC)  # 09:00 Paris, 17:00 Tokyo
    record_id = _one_activity(world, record_zone="Asia/Tokyo", seller_zone="Europe/Paris",
                              due_at=due)
    html = world.client_for(world.seller).get(f"/acme/records/{record_id}") \
        .get_data(as_text=True)
    assert f"Jan 15, 2030, 9:00{NNBSP}AM" in html
    assert f"9:00{NNBSP}AM for you · 5:00{NNBSP}PM in Tokyo" in html
    assert "Due in " in html


def test_the_record_page_prints_created_and_updated_in_the_viewers_zone(world):
    with world.data() as session:
        record = f.lead(first_name="Ana", last_name="Lima")
        session.flush()
        record_id = record.id
        session.execute(update(Record).where(Record.id == record_id)
                        .values(created_at=datetime(2026, 12, 31, 23, 30, tzinfo=UTC)))
        session.execute(update(User).where(User.id == world.seller.id)
                        .values(time_zone="Asia/Tokyo"))
    html = world.client_for(world.seller).get(f"/acme/records/{record_id}") \
        .get_data(as_text=True)
    # Already the new year in Tokyo; the machine-readable moment stays UTC.
    assert 'datetime="2026-12-31T23:30:00+00:00"' in html
    assert f"Jan 1, 2027, 8:30{NNBSP}AM</time>" in html
    assert "11:30" not in html and "Dec 31, 2026" not in html
