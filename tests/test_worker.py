from rq import Queue

from saas import jobs
from worker.runner import AppWorker, enqueue_tick


def test_tick_runs_in_an_app_context_and_leaves_a_heartbeat(app, redis_conn):
    queue = Queue("default", connection=redis_conn)
    assert enqueue_tick(queue) is True
    assert enqueue_tick(queue) is False  # one tick waits at a time, whoever enqueues it
    AppWorker([queue], connection=redis_conn, app=app).work(burst=True)
    with app.app_context():
        age = jobs.last_tick_age()
    assert age is not None and age < 60
    assert enqueue_tick(queue) is True  # the finished tick left nothing behind
