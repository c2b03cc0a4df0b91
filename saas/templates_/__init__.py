"""Email and SMS templates that sequences send (rendering lives in saas.messaging)."""
