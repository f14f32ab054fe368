"""HelpDesk Accounts: account and billing self-service backend (AWS Chalice).

Layout (ports and adapters):

* ``config``   - one frozen :class:`Settings` read from the environment;
* ``wiring``   - the composition root, the single seam tests override;
* ``api``      - Chalice blueprints: parse input, call one service, shape the answer;
* ``services`` - use cases over the ports in ``services.ports``; no boto3/stripe imports;
* ``domain``   - entities, value objects, rules and the error hierarchy;
* ``adapters`` - DynamoDB (PynamoDB), SES, argon2 and the in-memory fakes;
* ``jobs``     - scheduled work (outbox relay, renewals, retries);
* ``i18n``     - the English and French message catalogue.

Heavy libraries are imported lazily so that ``import app`` stays cheap (Lambda cold start).
"""
