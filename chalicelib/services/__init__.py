"""Use cases over the ports in :mod:`chalicelib.services.ports`. No boto3 or stripe here."""
