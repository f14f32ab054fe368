"""HTTP API: one Chalice blueprint per area, all built on :func:`chalicelib.api.http.endpoint`."""
