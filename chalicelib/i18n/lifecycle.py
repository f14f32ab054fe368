"""Cancel, reactivate and support messages and mail, in English and French.

Merged into :data:`catalog.MESSAGES` at the end of ``catalog.py`` (as ``declines.py`` and
``vat.py`` are).  Error codes (``not_cancelled``, ``request_not_found``, ``request_closed``,
``invalid_support_key``), the message of the 409 ``payment_in_progress`` a cancel may answer
(``cancel_payment_in_progress``), a field message (``invalid_cancel_reason``), the pieces of
the support mail (``lifecycle.*``) and the mail templates (``mail.<name>.subject/body``).
The mail to support is written in English (``services.lifecycle.SUPPORT_LOCALE``).
"""

from __future__ import annotations

LIFECYCLE_MESSAGES: dict[str, dict[str, str]] = {
    # --- errors -----------------------------------------------------------------------------
    "not_cancelled": {
        "en": "This account is not cancelled: sign in instead.",
        "fr": "Ce compte n'est pas annulé : connectez-vous plutôt.",
    },
    "cancel_payment_in_progress": {
        "en": "A payment on this account is being processed. Nothing was changed; please try "
        "again in a few minutes.",
        "fr": "Un paiement est en cours de traitement sur ce compte. Rien n'a été modifié ; "
        "veuillez réessayer dans quelques minutes.",
    },
    "invalid_support_key": {
        "en": "The support key is missing or wrong.",
        "fr": "La clé du support est absente ou incorrecte.",
    },
    "request_not_found": {
        "en": "No such reactivation request.",
        "fr": "Demande de réactivation introuvable.",
    },
    "request_closed": {
        "en": "This reactivation request has already been decided. Nothing was changed.",
        "fr": "Cette demande de réactivation a déjà été traitée. Rien n'a été modifié.",
    },
    # --- field messages ---------------------------------------------------------------------
    "invalid_cancel_reason": {
        "en": "Choose a reason from the list.",
        "fr": "Choisissez une raison dans la liste.",
    },
    "invalid_request_status": {
        "en": "Only open requests can be listed (status=open).",
        "fr": "Seules les demandes ouvertes peuvent être listées (status=open).",
    },
    # --- pieces of the support mail ---------------------------------------------------------
    "lifecycle.none": {"en": "none", "fr": "aucun"},
    "lifecycle.last_invoice": {
        "en": "{number}, {total}, {status}, issued {issued}",
        "fr": "{number}, {total}, {status}, émise le {issued}",
    },
    # --- mail ------------------------------------------------------------------------------
    "mail.account_cancelled.subject": {
        "en": "Your HelpDesk account is cancelled",
        "fr": "Votre compte HelpDesk est annulé",
    },
    "mail.account_cancelled.body": {
        "en": "Hello {name},\n\nYour HelpDesk account was cancelled on {at}. You were signed "
        "out everywhere and nothing more will be charged; anything still owed was cancelled "
        "by a credit note. "
        "Your invoices and account history are kept.\n\nYou can reactivate your account at any "
        "time: {reactivate_url}\n\nIf you did not do this, contact us at {support_email}.\n",
        "fr": "Bonjour {name},\n\nVotre compte HelpDesk a été annulé le {at}. Toutes vos "
        "sessions ont été déconnectées et plus rien ne sera prélevé ; les sommes encore dues "
        "ont été annulées par un avoir. Vos factures et l'historique du compte sont "
        "conservés.\n\nVous "
        "pouvez réactiver votre compte à tout moment : {reactivate_url}\n\nSi vous n'êtes pas "
        "à l'origine de cette annulation, écrivez-nous à {support_email}.\n",
    },
    "mail.reactivation_request.subject": {
        "en": "Reactivation request from {email} ({plan})",
        "fr": "Demande de réactivation de {email} ({plan})",
    },
    "mail.reactivation_request.body": {
        "en": "A cancelled paid account asks to be reactivated. Please contact the customer.\n\n"
        "Request: {request_id}\nRequested at: {requested_at}\n\nAccount: {account_id}\n"
        "Name: {name}\nEmail: {email}\nPhone: {phone}\nCountry: {country}\n"
        "Language: {customer_locale}\nPlan: {plan}\nLast invoice: {last_invoice}\n\n"
        "To decide, call POST /support/reactivation-requests/{request_id}/approve or "
        ".../reject with the X-Support-Key header. Approving makes the account active and "
        "charges the plan at once.\n",
        "fr": "Un compte payant annulé demande sa réactivation. Merci de contacter le client."
        "\n\nDemande : {request_id}\nDate de la demande : {requested_at}\n\n"
        "Compte : {account_id}\nNom : {name}\nAdresse électronique : {email}\n"
        "Téléphone : {phone}\nPays : {country}\nLangue : {customer_locale}\nFormule : {plan}\n"
        "Dernière facture : {last_invoice}\n\nPour décider, appelez POST "
        "/support/reactivation-requests/{request_id}/approve ou .../reject avec l'en-tête "
        "X-Support-Key. L'approbation réactive le compte et prélève la formule aussitôt.\n",
    },
    "mail.reactivation_approved.subject": {
        "en": "Your HelpDesk account is active again",
        "fr": "Votre compte HelpDesk est de nouveau actif",
    },
    "mail.reactivation_approved.body": {
        "en": "Hello {name},\n\nGood news: your HelpDesk account is active again on the {plan} "
        "plan. The new period is charged to your card on file now; your receipt follows.\n\n"
        "Sign in: {console_url}\n\nQuestions? Write to {support_email}.\n",
        "fr": "Bonjour {name},\n\nBonne nouvelle : votre compte HelpDesk est de nouveau actif "
        "avec la formule {plan}. La nouvelle période est prélevée dès maintenant sur votre "
        "carte enregistrée ; votre reçu suit.\n\nConnexion : {console_url}\n\nDes questions ? "
        "Écrivez-nous à {support_email}.\n",
    },
    "mail.reactivation_rejected.subject": {
        "en": "About your HelpDesk reactivation request",
        "fr": "À propos de votre demande de réactivation HelpDesk",
    },
    "mail.reactivation_rejected.body": {
        "en": "Hello {name},\n\nWe could not reactivate your HelpDesk account ({plan}); it "
        "stays cancelled and nothing was charged.\n\nTo find out more, write to "
        "{support_email}. You can ask again at any time: {console_url}/reactivate\n",
        "fr": "Bonjour {name},\n\nNous n'avons pas pu réactiver votre compte HelpDesk ({plan}) ; "
        "il reste annulé et rien n'a été prélevé.\n\nPour en savoir plus, écrivez-nous à "
        "{support_email}. Vous pouvez renouveler votre demande à tout moment : "
        "{console_url}/reactivate\n",
    },
}
