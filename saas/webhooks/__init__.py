"""Incoming traffic from providers and recipients: tracking links, SendGrid and Twilio webhooks."""
