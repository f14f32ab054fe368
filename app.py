"""HelpDesk Accounts - the Chalice app: registration only (routes live in blueprints)."""

from chalice.app import Chalice, Rate

from chalicelib.adapters import secrets
from chalicelib.api import (
    auth,
    billing,
    credit_notes,
    lifecycle,
    meta,
    profile,
    security,
    support,
    web,
    webhooks,
)
from chalicelib.api.fallback import register_fallbacks
from chalicelib.config import get_settings
from chalicelib.jobs import handlers
from chalicelib.wiring import uses_test_clock

# dev/prod: the Stripe secret is read on a thread from now on, overlapping the cold start
secrets.prefetch(get_settings())

app = Chalice(app_name="helpdesk-accounts")
app.api.binary_types.append("application/pdf")

app.register_blueprint(meta.bp)
app.register_blueprint(auth.bp)
app.register_blueprint(profile.bp)
app.register_blueprint(security.bp)
app.register_blueprint(billing.bp)
app.register_blueprint(credit_notes.bp)
app.register_blueprint(lifecycle.bp)
app.register_blueprint(support.bp)
app.register_blueprint(webhooks.bp)
app.register_blueprint(web.bp)
if uses_test_clock(get_settings()):  # the local stage only: elsewhere /_test/* does not exist
    from chalicelib.api import test_clock

    app.register_blueprint(test_clock.bp)
register_fallbacks(app, static=web.static)

# Lambda calls each handler by its function name (``app.outbox``, ...): each is kept here
outbox = app.schedule(Rate(5, unit=Rate.MINUTES), name="outbox")(handlers.outbox)
# new mail leaves at once from the table's stream (the 5-minute schedule sweeps retries);
# Lambda calls it as app.outbox_stream
outbox_stream = app.on_dynamodb_record(
    stream_arn=handlers.stream_arn_placeholder(
        get_settings().table_name, get_settings().aws_region
    ),
    batch_size=100,
    name="outbox-stream",
)(handlers.outbox_stream)
# the PDFs of new and changed invoices and credit notes, drawn before they are asked for (the
# PDF routes serve them stored); Lambda calls it as app.documents_stream
documents_stream = app.on_dynamodb_record(
    stream_arn=handlers.stream_arn_placeholder(
        get_settings().table_name, get_settings().aws_region
    ),
    batch_size=20,
    name="documents-stream",
)(handlers.documents_stream)
renewals = app.schedule(Rate(1, unit=Rate.HOURS), name="renewals")(handlers.renewals)
vat_recheck = app.schedule(Rate(1, unit=Rate.HOURS), name="vat-recheck")(handlers.vat_recheck)
retry_pending = app.schedule(Rate(1, unit=Rate.HOURS), name="retry-pending")(handlers.retry_pending)
trials = app.schedule(Rate(1, unit=Rate.HOURS), name="trials")(handlers.trials)
reminders = app.schedule(Rate(1, unit=Rate.HOURS), name="reminders")(handlers.reminders)
reconcile_refunds = app.schedule(Rate(1, unit=Rate.HOURS), name="reconcile-refunds")(
    handlers.reconcile_refunds
)
retry_consumer = app.on_sqs_message(
    queue=get_settings().retry_queue_name,
    batch_size=10,
    name="retry-consumer",
    maximum_concurrency=get_settings().retry_consumer_concurrency,
)(handlers.retry_consumer)
