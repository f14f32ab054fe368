"""HelpDesk Accounts - the Chalice app: registration only (routes live in blueprints)."""

from chalice.app import Chalice, Rate

from chalicelib.api import auth, billing, meta, profile
from chalicelib.api.fallback import register_fallbacks
from chalicelib.jobs import handlers

app = Chalice(app_name="helpdesk-accounts")
app.api.binary_types.append("application/pdf")

app.register_blueprint(meta.bp)
app.register_blueprint(auth.bp)
app.register_blueprint(profile.bp)
app.register_blueprint(billing.bp)
register_fallbacks(app)

app.schedule(Rate(5, unit=Rate.MINUTES), name="outbox")(handlers.outbox)
app.schedule(Rate(1, unit=Rate.HOURS), name="renewals")(handlers.renewals)
app.schedule(Rate(1, unit=Rate.HOURS), name="vat-recheck")(handlers.vat_recheck)
