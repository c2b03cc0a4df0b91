"""Issue 18, pages that contradict themselves: an Up next answer carries the record page's
Sequences block (htmx out of band), and says when the sequence has just completed; a skipped
wait says it was skipped, and by whom."""

from __future__ import annotations

from tests.worklist import factories as f

HX = {"HX-Request": "true"}


def _connect(world, steps, settings=None):
    with world.data():
        seq = f.sequence(steps, name="Trade show follow-up", settings=settings)
        record = f.lead(first_name="Ana", last_name="Visitor")
        enrollment = f.connect(record, seq, world.seller.id)
        return record.id, f.current_run(enrollment.id).id


def _sequences_block(html: str) -> str:
    return html.split('id="record-sequences"', 1)[1]


def test_the_last_activity_completes_the_sequence_and_the_whole_page_says_so(world):
    record_id, run_id = _connect(world, [{"type": "call", "name": "Follow-up call"}])
    client = world.client_for(world.seller)
    page = client.get(f"/acme/records/{record_id}").get_data(as_text=True)
    assert "Current step: Follow-up call" in _sequences_block(page)
    assert "Delete Ana Visitor? It leaves the sequence it runs in" in page
    answer = client.post(f"/acme/activities/{run_id}/call", headers=HX,
                         data={"from": "record", "outcome": "connected"}).get_data(as_text=True)
    panel, block = answer.split('<section class="card" id="record-sequences"', 1)
    assert ("Call logged: Connected. That was the last step: the sequence is completed for this "
            "record.") in panel
    assert "moves on to its next step" not in answer
    assert "Sequence completed" in panel
    assert 'hx-swap-oob="true"' in block.split(">", 1)[0]
    assert "Completed" in block and "1 step done" in block
    assert "Current step" not in block and "Pause" not in block and "Disconnect" not in block
    # The sequence it has completed can be connected again.
    assert "Trade show follow-up" in block.split('id="connect-sequence"', 1)[1]
    # Deleting the record no longer takes it out of a sequence.
    delete = answer.split('<div id="record-delete" hx-swap-oob="true">', 1)[1]
    assert 'data-confirm="Delete Ana Visitor? This cannot be undone."' in delete


def test_an_activity_that_moves_on_says_so_and_refreshes_the_current_step(world):
    record_id, run_id = _connect(world, [{"type": "task", "name": "Research"},
                                         {"type": "call", "name": "Follow-up call"}])
    client = world.client_for(world.seller)
    answer = client.post(f"/acme/activities/{run_id}/complete", headers=HX,
                         data={"from": "record"}).get_data(as_text=True)
    panel, block = answer.split('<section class="card" id="record-sequences"', 1)
    assert "Done. The record moves on to its next step." in panel
    assert "Current step: Follow-up call" in block and "1 step done" in block
    assert ">Pause<" in block


def test_a_plain_post_redirects_with_the_completed_message(world):
    record_id, run_id = _connect(world, [{"type": "task", "name": "Research"}])
    client = world.client_for(world.seller)
    page = client.post(f"/acme/activities/{run_id}/skip", data={"from": "record"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Skipped. That was the last step: the sequence is completed for this record." in page
    assert "Current step" not in _sequences_block(page)


def test_a_skipped_wait_is_listed_as_skipped_by_whom(world):
    record_id, run_id = _connect(world, [
        {"type": "wait", "name": "Wait 2 days", "config": {"days": 2, "hours": 0}},
        {"type": "task", "name": "After the wait"}], settings={"allow_skip_wait": True})
    client = world.client_for(world.seller)
    answer = client.post(f"/acme/activities/{run_id}/skip-wait", headers=HX,
                         data={"from": "record"}).get_data(as_text=True)
    assert "The wait is skipped. The record moves on to its next step." in answer
    done = answer.split('<h4 class="un-subhead">Done</h4>', 1)[1].split("</ol>", 1)[0]
    assert "Wait 2 days" in done and ">Skipped</span>" in done and "by Sam Seller" in done
    assert ">Done</span>" not in done
