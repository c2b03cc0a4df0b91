"""The public REST API (`/api/v1/<tenant>/...`): JSON in and out, API keys, problem+json errors,
an OpenAPI 3.1 document built from the same operation table that routes the requests.

The top floor beside saas/web: it calls the areas' services and queries, nothing calls it.
"""
