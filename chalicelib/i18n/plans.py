"""Plan and seat changes, cancellation at the period's end: messages in English and French."""

from __future__ import annotations

NNBSP = "\u202f"

PLAN_MESSAGES: dict[str, dict[str, str]] = {
    "invalid_seats": {
        "en": "Choose between 1 and 10,000 seats.",
        "fr": f"Choisissez entre 1 et 10{NNBSP}000 sièges.",
    },
    "nothing_to_change": {
        "en": "This is already your plan and number of seats.",
        "fr": "C’est déjà votre formule et votre nombre de sièges.",
    },
    "currency_mismatch": {
        "en": "This plan is billed in another currency: contact support to change to it.",
        "fr": f"Cette formule est facturée dans une autre devise{NNBSP}: contactez le support "
        "pour en changer.",
    },
    "cancellation_scheduled": {
        "en": "Your subscription ends at the end of the period: resume it first.",
        "fr": f"Votre abonnement prend fin à la fin de la période{NNBSP}: réactivez-le d’abord.",
    },
    "no_scheduled_change": {
        "en": "No change is scheduled.",
        "fr": "Aucun changement n’est programmé.",
    },
    "not_scheduled": {
        "en": "No cancellation is scheduled.",
        "fr": "Aucune résiliation n’est programmée.",
    },
    "renewal_due": {
        "en": "Your renewal is being processed: try again in a few minutes.",
        "fr": f"Votre renouvellement est en cours{NNBSP}: réessayez dans quelques minutes.",
    },
    # invoice lines of an upgrade (written in the account's language at issue)
    "line.remaining": {
        "en": "{plan} × {seats}, remaining time from {start} to {end}",
        "fr": "{plan} × {seats}, temps restant du {start} au {end}",
    },
    "line.unused": {
        "en": "Unused time on {plan} × {seats} from {start} to {end}",
        "fr": "Temps non utilisé sur {plan} × {seats} du {start} au {end}",
    },
    "line.period": {
        "en": "{plan} × {seats}, from {start} to {end}",
        "fr": "{plan} × {seats}, du {start} au {end}",
    },
    "seats.one": {"en": "1 seat", "fr": "1 siège"},
    "seats.many": {"en": "{n} seats", "fr": "{n} sièges"},
}
