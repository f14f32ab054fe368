"""The embedded local stack (development and tests only; never deployed).

moto in server mode (DynamoDB, SES, SQS) and localstripe, both in this process and bound to
127.0.0.1.  ``python -m devstack`` is what ``make run`` starts.
"""
