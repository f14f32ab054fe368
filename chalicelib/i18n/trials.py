"""Trial messages and mail, in English and French.

Merged into :data:`catalog.MESSAGES` at the end of ``catalog.py`` (as ``lifecycle.py`` is):
the 403 ``trial_expired`` every non-essential route answers once a trial has ended, the
sign-in notice (``trial_expired_notice``, shown with a link to subscribe), the test clock's
error, and the two mails of the ``trials`` job: ``trial_ending`` (three days before the end)
and ``trial_expired`` (the trial is over).  Both name the date and how to subscribe.
"""

from __future__ import annotations

TRIAL_MESSAGES: dict[str, dict[str, str]] = {
    # --- errors and notices -------------------------------------------------------------------
    "trial_expired": {
        "en": "Your free trial has ended. Subscribe to a plan in My account (Billing) to keep "
        "using HelpDesk; your data is kept.",
        "fr": "Votre essai gratuit est terminé. Souscrivez une formule dans Mon compte "
        "(Facturation) pour continuer à utiliser HelpDesk ; vos données sont conservées.",
    },
    "trial_expired_notice": {
        "en": "Your free trial ended on {date}. Subscribe to a plan to keep using HelpDesk.",
        "fr": "Votre essai gratuit s'est terminé le {date}. Souscrivez une formule pour "
        "continuer à utiliser HelpDesk.",
    },
    "invalid_time": {
        "en": "Give the time in ISO 8601, for example 2026-12-01T09:00:00Z.",
        "fr": "Indiquez l'heure au format ISO 8601, par exemple 2026-12-01T09:00:00Z.",
    },
    # --- mail ---------------------------------------------------------------------------------
    "mail.trial_ending.subject": {
        "en": "Your HelpDesk free trial ends on {date}",
        "fr": "Votre essai gratuit HelpDesk se termine le {date}",
    },
    "mail.trial_ending.body": {
        "en": "Hello {name},\n\nYour HelpDesk free trial ends on {date}. To "
        "keep using HelpDesk after that, add a card and choose a plan in My account, under "
        "Billing: {subscribe_url}\n\nYou are charged only when you subscribe; without a "
        "subscription your account stays, but only billing and your profile remain "
        "available.\n",
        "fr": "Bonjour {name},\n\nVotre essai gratuit HelpDesk se termine le {date}. Pour "
        "continuer à utiliser HelpDesk ensuite, ajoutez une carte et choisissez une formule "
        "dans Mon compte, rubrique Facturation : {subscribe_url}\n\nVous n'êtes débité "
        "qu'au moment de souscrire ; sans abonnement, votre compte est conservé, mais seuls la "
        "facturation et votre profil restent accessibles.\n",
    },
    "mail.trial_expired.subject": {
        "en": "Your HelpDesk free trial has ended",
        "fr": "Votre essai gratuit HelpDesk est terminé",
    },
    "mail.trial_expired.body": {
        "en": "Hello {name},\n\nYour HelpDesk free trial ended on {date}. Your account and "
        "its data are kept; subscribe to a plan in My account, under Billing, to use HelpDesk "
        "again at once: {subscribe_url}\n\nYour first period starts the day you subscribe.\n",
        "fr": "Bonjour {name},\n\nVotre essai gratuit HelpDesk s'est terminé le {date}. Votre "
        "compte et ses données sont conservés ; souscrivez une formule dans Mon compte, rubrique "
        "Facturation, pour utiliser de nouveau HelpDesk immédiatement : {subscribe_url}\n\n"
        "Votre première période commence le jour de votre souscription.\n",
    },
}
