"""HelpDesk Accounts - the Chalice app: registration only (routes live in blueprints)."""

from chalice.app import Chalice, Rate

from chalicelib.api import auth, meta, profile
from chalicelib.api.fallback import register_fallbacks
from chalicelib.jobs import handlers

app = Chalice(app_name="helpdesk-accounts")

app.register_blueprint(meta.bp)
app.register_blueprint(auth.bp)
app.register_blueprint(profile.bp)
register_fallbacks(app)

app.schedule(Rate(5, unit=Rate.MINUTES), name="outbox")(handlers.outbox)
