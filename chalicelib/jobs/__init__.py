"""Scheduled work. Each job is a plain function over the container, run by Lambda schedules in
AWS and by the local scheduler / ``python -m chalicelib.cli run-job`` locally."""
