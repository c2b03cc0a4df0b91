"""Messaging: providers (SendGrid, Twilio, the outbox), rendering, tracking, suppression.

What happens to uncertain sends (and their periodic resend) is the engine's business:
`saas.engine.uncertain`.
"""
