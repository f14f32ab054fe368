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
    # --- mail: a cancellation or a downgrade scheduled for the renewal, or withdrawn --------
    "mail.cancel_scheduled.subject": {
        "en": "Your HelpDesk subscription ends on {date}",
        "fr": "Votre abonnement HelpDesk prend fin le {date}",
    },
    "mail.cancel_scheduled.body": {
        "en": "Hello {name},\n\nAs you asked, your {plan} subscription will not renew: it "
        "ends on {date}. Until then you keep full access; nothing more will be charged and "
        "nothing is refunded.\n\nChanged your mind? Resume your subscription before that "
        "date in My account, under Billing: {console_url}\n",
        "fr": "Bonjour {name},\n\nComme vous l’avez demandé, votre abonnement {plan} ne sera "
        "pas renouvelé : il prend fin le {date}. D’ici là, vous gardez un accès complet ; "
        "plus rien ne sera prélevé et rien n’est remboursé.\n\nVous avez changé d’avis ? "
        "Reprenez votre abonnement avant cette date dans Mon compte, rubrique Facturation : "
        "{console_url}\n",
    },
    "mail.cancel_withdrawn.subject": {
        "en": "Your HelpDesk subscription continues",
        "fr": "Votre abonnement HelpDesk continue",
    },
    "mail.cancel_withdrawn.body": {
        "en": "Hello {name},\n\nThe cancellation of your {plan} subscription was withdrawn: "
        "it renews on {date} as before.\n\nYour billing: {console_url}\n",
        "fr": "Bonjour {name},\n\nLa résiliation de votre abonnement {plan} a été annulée : "
        "il sera renouvelé le {date} comme prévu.\n\nVotre facturation : {console_url}\n",
    },
    "mail.change_scheduled.subject": {
        "en": "Your HelpDesk plan changes on {date}",
        "fr": "Votre formule HelpDesk change le {date}",
    },
    "mail.change_scheduled.body": {
        "en": "Hello {name},\n\nFrom your renewal on {date}, your subscription will be {plan}, "
        "{seats}: {amount} (VAT included) will be charged then. Until that date nothing "
        "changes and nothing is refunded.\n\nTo undo this change before then, go to My "
        "account, under Billing: {console_url}\n",
        "fr": "Bonjour {name},\n\nÀ partir de votre renouvellement du {date}, votre abonnement "
        "sera {plan}, {seats} : {amount} (TVA comprise) seront alors débités. D’ici là, rien "
        "ne change et rien n’est remboursé.\n\nPour annuler ce changement avant cette date, "
        "rendez-vous dans Mon compte, rubrique Facturation : {console_url}\n",
    },
    "mail.change_withdrawn.subject": {
        "en": "Your HelpDesk plan change was cancelled",
        "fr": "Le changement de votre formule HelpDesk est annulé",
    },
    "mail.change_withdrawn.body": {
        "en": "Hello {name},\n\nThe change scheduled for your renewal on {date} was withdrawn: "
        "you stay on {plan}, {seats}.\n\nYour billing: {console_url}\n",
        "fr": "Bonjour {name},\n\nLe changement prévu pour votre renouvellement du {date} a été "
        "annulé : vous restez en {plan}, {seats}.\n\nVotre facturation : {console_url}\n",
    },
    "seats.one": {"en": "1 seat", "fr": "1 siège"},
    "seats.many": {"en": "{n} seats", "fr": "{n} sièges"},
}
