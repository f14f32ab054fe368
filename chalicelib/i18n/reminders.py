"""Reminder mail and saved-card messages, in English and French.

Merged into :data:`catalog.MESSAGES` at the end of ``catalog.py`` (as ``trials.py`` is): the
two mails of the ``reminders`` job, ``renewal_notice`` (yearly plans, ``RENEWAL_NOTICE_DAYS``
before the renewal: its date, the amount with VAT and the card) and ``card_expiring`` (the card
on file will have expired by the next renewal, 30 days before it), and the errors of the saved
cards routes (``GET/DELETE /billing/cards...``).
"""

from __future__ import annotations

REMINDER_MESSAGES: dict[str, dict[str, str]] = {
    # --- saved cards --------------------------------------------------------------------------
    "card_not_found": {
        "en": "This card is not one of your saved cards.",
        "fr": "Cette carte ne fait pas partie de vos cartes enregistrées.",
    },
    "default_card": {
        "en": "This is the card your subscription is charged to. Make another card the "
        "default first, then remove this one.",
        "fr": "C'est la carte débitée pour votre abonnement. Choisissez d'abord une autre "
        "carte par défaut, puis supprimez celle-ci.",
    },
    # --- mail ---------------------------------------------------------------------------------
    "mail.renewal_notice.subject": {
        "en": "Your HelpDesk subscription renews on {date}",
        "fr": "Votre abonnement HelpDesk sera renouvelé le {date}",
    },
    "mail.renewal_notice.body": {
        "en": "Hello {name},\n\nYour {plan} subscription renews on {date}: {amount} "
        "(VAT included) will be charged to your card {card}.\n\nNothing to do if that "
        "suits you. To change your card or your plan, or to cancel before the renewal, go to "
        "My account, under Billing: {console_url}\n",
        "fr": "Bonjour {name},\n\nVotre abonnement {plan} sera renouvelé le {date} : "
        "{amount} (TVA comprise) seront débités sur votre carte {card}.\n\nVous n'avez rien "
        "à faire si cela vous convient. Pour changer de carte ou de formule, ou pour résilier "
        "avant le renouvellement, rendez-vous dans Mon compte, rubrique Facturation : "
        "{console_url}\n",
    },
    "mail.card_expiring.subject": {
        "en": "Your card expires before your HelpDesk renewal on {date}",
        "fr": "Votre carte expire avant le renouvellement HelpDesk du {date}",
    },
    "mail.card_expiring.body": {
        "en": "Hello {name},\n\nYour card {card} is valid until the end of {expiry}, "
        "before your {plan} subscription renews on {date} ({amount}, VAT included). So that "
        "the renewal goes through, add a new card in My account, under Billing: "
        "{console_url}\n\nIf the card was already replaced by your bank, enter its new "
        "expiry date there.\n",
        "fr": "Bonjour {name},\n\nVotre carte {card} est valable jusqu'à la fin de {expiry}, "
        "avant le renouvellement de votre abonnement {plan} le {date} ({amount}, TVA "
        "comprise). Pour que le renouvellement aboutisse, ajoutez une nouvelle carte dans Mon "
        "compte, rubrique Facturation : {console_url}\n\nSi votre banque vous a déjà envoyé "
        "une nouvelle carte, indiquez-y sa nouvelle date d'expiration.\n",
    },
}
