"""Sending composed messages of one tenant: the provider calls run concurrently (threads; they
touch no database), each classified into a `SendResult`. A 429 or a refused connection stops the
batch: messages not yet tried are handed back untried, to go when the provider's limit resets."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from flask import current_app

from saas.extensions import db
from saas.messaging import outbox, providers
from saas.messaging.compose import Outgoing
from saas.messaging.config import MessagingConfig
from saas.messaging.models import OutboxMessage
from saas.messaging.result import SendResult


def provider_for(config: MessagingConfig, channel: str) -> str:
    return config.sms_provider if channel == "sms" else config.email_provider


def _call(config: MessagingConfig, message: Outgoing, pool_size: int | None = None
          ) -> SendResult:
    """One provider call. An SMS needs the app's context (its status callback's link); an
    email needs none: `pool_size`, the size of this process's connection pool, is read from
    the app's settings by the caller, once a batch."""
    if message.channel == "sms":
        from saas.web.links import external

        callback = external("webhooks.twilio_status", tenant=config.tenant_slug,
                            sr=message.step_run_id)
        return providers.twilio_send(
            sid=config.twilio_sid or "", token=config.twilio_token or "",
            base_url=config.twilio_base_url, timeout=config.timeout, to=message.to,
            from_=config.twilio_from, body=message.body, status_callback=callback)
    payload = providers.build_mail(
        to=message.to, from_address=message.from_address, from_name=message.from_name,
        subject=message.subject, html=message.html, text=message.text,
        reply_to=message.reply_to, headers=message.headers, custom_args=message.custom_args,
        categories=[f"tenant:{config.tenant_slug}", *message.categories])
    return providers.sendgrid_send(api_key=config.sendgrid_key or "",
                                   base_url=config.sendgrid_base_url, timeout=config.timeout,
                                   payload=payload, size=pool_size)


def store(config: MessagingConfig, message: Outgoing) -> OutboxMessage:
    """The outbox 'provider': written in the caller's transaction."""
    stored = OutboxMessage(**_row(config, message))
    db.session.add(stored)
    return stored


def store_many(config: MessagingConfig, messages: list[Outgoing]) -> dict[int, int]:
    """The outbox 'provider' for many messages (each of a different step run), in one insert
    in the caller's transaction: {step run id: outbox id}."""
    return outbox.store_rows([_row(config, message) for message in messages])


def _row(config: MessagingConfig, message: Outgoing) -> dict:
    if message.channel == "sms":
        return outbox.sms_row(purpose="sequence", to=message.to, body=message.body,
                              sender=config.twilio_from, step_run_id=message.step_run_id)
    headers = dict(message.headers)
    if message.reply_to:
        headers["Reply-To"] = message.reply_to
    sender = f"{message.from_name} <{message.from_address}>" if message.from_name \
        else message.from_address
    return outbox.email_row(purpose="sequence", to=message.to, subject=message.subject,
                            text=message.text, html=message.html, sender=sender,
                            headers=headers, step_run_id=message.step_run_id)


_pool_lock = threading.Lock()
_pool: tuple[int, int, ThreadPoolExecutor] | None = None
_own = threading.local()  # a pool of sending threads given to this thread by `calls_on`


@contextmanager
def calls_on(pool: ThreadPoolExecutor):
    """Within it, `send_many` in this thread calls the providers on `pool` instead of the
    process's shared pool: a send sweep gives each of the tenants it delivers at once sending
    threads of their own, so one tenant's slow provider never holds the calls of another."""
    previous = getattr(_own, "pool", None)
    _own.pool = pool
    try:
        yield
    finally:
        _own.pool = previous


def calls_pool() -> ThreadPoolExecutor | None:
    """The pool this thread was given by `calls_on`, if any (to share with helper threads)."""
    return getattr(_own, "pool", None)


def _executor(workers: int) -> ThreadPoolExecutor:
    """One long-lived pool of sending threads per process (the provider connections they use
    are kept open from one batch to the next by the per-process pool in connections.py), unless
    this thread was given its own (`calls_on`)."""
    own = getattr(_own, "pool", None)
    if own is not None:
        return own
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid() or _pool[1] != workers:
            if _pool is not None and _pool[0] == os.getpid():
                _pool[2].shutdown(wait=False)
            _pool = (os.getpid(), workers,
                     ThreadPoolExecutor(max_workers=workers, thread_name_prefix="provider-call"))
        return _pool[2]


def send_many(config: MessagingConfig, messages: Iterable[Outgoing]) -> tuple[dict, list[int]]:
    """({step run id: SendResult}, [step run ids not tried]) for messages to real providers.

    Works in waves of twice the concurrency: a wave is composed (by iterating `messages`), then
    sent concurrently. Composing while the threads send would make them fight over the GIL, and
    once the provider says "slow down" (429, refused) nothing more is composed or sent: the
    caller treats the messages it never got to as untried."""
    stop = threading.Event()
    app = current_app._get_current_object()
    pool_size = providers.pool_size()

    def one(message: Outgoing) -> SendResult | None:
        if stop.is_set():
            return None
        if message.channel == "sms":
            with app.app_context():
                result = _call(config, message)
        else:  # no app context to push and pop (and tear down) for each email
            result = _call(config, message, pool_size)
        if result.status == "retry":
            stop.set()
        return result

    workers = max(1, int(current_app.config["SEND_CONCURRENCY"]))
    results: dict[int, SendResult] = {}
    untried: list[int] = []
    iterator = iter(messages)
    pool = _executor(workers) if workers > 1 else None
    while not stop.is_set():
        wave = list(itertools.islice(iterator, max(1, workers * 2)))
        if not wave:
            break
        outcomes = list(pool.map(one, wave)) if pool else [one(m) for m in wave]
        for message, result in zip(wave, outcomes, strict=True):
            if result is None:
                untried.append(message.step_run_id)
            else:
                results[message.step_run_id] = result
    return results, untried
