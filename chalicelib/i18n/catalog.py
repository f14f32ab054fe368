"""The one catalogue of human-readable text, in English and French.

Keys are error codes, field-message codes and mail templates (``mail.<name>.subject`` and
``mail.<name>.body``).  Values are ``str.format`` templates.  The web console has its own
catalogue for its interface strings (``chalicelib/web/i18n.js``); API messages come from here.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    # --- generic errors -------------------------------------------------------------------
    "bad_request": {"en": "The request is not valid.", "fr": "La requête n'est pas valide."},
    "validation_error": {
        "en": "Some fields are not valid.",
        "fr": "Certains champs ne sont pas valides.",
    },
    "json_too_deep": {
        "en": "The request body is nested too deeply (64 levels at most).",
        "fr": "Le corps de la requête est trop imbriqué (64 niveaux au maximum).",
    },
    "invalid_json": {
        "en": "The request body is not valid JSON.",
        "fr": "Le corps de la requête n'est pas un JSON valide.",
    },
    "unknown_field": {
        "en": "The request contains fields that are not allowed.",
        "fr": "La requête contient des champs non autorisés.",
    },
    "not_found": {"en": "Not found.", "fr": "Introuvable."},
    "method_not_allowed": {
        "en": "This method is not allowed on this address.",
        "fr": "Cette méthode n'est pas autorisée à cette adresse.",
    },
    "payload_too_large": {
        "en": "The request body is too large (64 KiB at most).",
        "fr": "Le corps de la requête est trop volumineux (64 Kio au maximum).",
    },
    "unsupported_media_type": {
        "en": "Send the request body as application/json.",
        "fr": "Envoyez le corps de la requête en application/json.",
    },
    "internal_error": {
        "en": "Something went wrong on our side. Please try again later.",
        "fr": "Une erreur s'est produite de notre côté. Veuillez réessayer plus tard.",
    },
    "write_outcome_unknown": {
        "en": "A service we depend on did not answer in time, so your change may or may not "
        "have been saved. Reload the page to check before trying again.",
        "fr": "Un service dont nous dépendons n'a pas répondu à temps : votre modification a "
        "peut-être été enregistrée. Rechargez la page pour le vérifier avant de réessayer.",
    },
    "service_unavailable": {
        "en": "A service we depend on is unavailable. Nothing was changed; please try again.",
        "fr": "Un service dont nous dépendons est indisponible. Rien n'a été modifié ; "
        "veuillez réessayer.",
    },
    "conflict": {
        "en": "Your account changed meanwhile. Reload and try again.",
        "fr": "Votre compte a été modifié entre-temps. Rechargez et réessayez.",
    },
    # --- authentication ---------------------------------------------------------------------
    "not_authenticated": {
        "en": "Please sign in.",
        "fr": "Veuillez vous connecter.",
    },
    "invalid_credentials": {
        "en": "The email address or the password is incorrect.",
        "fr": "L'adresse électronique ou le mot de passe est incorrect.",
    },
    "too_many_attempts": {
        "en": "Too many failed attempts. Please wait {retry_after} seconds and try again.",
        "fr": "Trop de tentatives échouées. Patientez {retry_after} secondes puis réessayez.",
    },
    "account_cancelled": {
        "en": "This account has been cancelled. You can reactivate it.",
        "fr": "Ce compte a été annulé. Vous pouvez le réactiver.",
    },
    "account_suspended": {
        "en": "Your account is suspended until the pending payments are settled. "
        "Only billing is available.",
        "fr": "Votre compte est suspendu jusqu'au règlement des paiements en attente. "
        "Seule la facturation est disponible.",
    },
    "email_taken": {
        "en": "An account already uses this email address.",
        "fr": "Un compte utilise déjà cette adresse électronique.",
    },
    "invalid_password": {
        "en": "The current password is incorrect.",
        "fr": "Le mot de passe actuel est incorrect.",
    },
    "password_mismatch": {
        "en": "The new password and its confirmation do not match.",
        "fr": "Le nouveau mot de passe et sa confirmation ne correspondent pas.",
    },
    "weak_password": {
        "en": "Choose a password of 8 to 128 characters that is not a common password.",
        "fr": "Choisissez un mot de passe de 8 à 128 caractères qui ne soit pas un mot de "
        "passe courant.",
    },
    # --- field messages ---------------------------------------------------------------------
    "field_required": {"en": "This field is required.", "fr": "Ce champ est obligatoire."},
    "field_unknown": {"en": "This field is not allowed.", "fr": "Ce champ n'est pas autorisé."},
    "field_type": {
        "en": "This value has the wrong type.",
        "fr": "Cette valeur n'a pas le bon type.",
    },
    "field_too_short": {"en": "This value is too short.", "fr": "Cette valeur est trop courte."},
    "field_too_long": {"en": "This value is too long.", "fr": "Cette valeur est trop longue."},
    "field_invalid": {"en": "This value is not valid.", "fr": "Cette valeur n'est pas valide."},
    "field_not_integer": {
        "en": "This value must be a whole number.",
        "fr": "Cette valeur doit être un nombre entier.",
    },
    "field_control_characters": {
        "en": "This text contains invisible control or text-direction characters; remove them.",
        "fr": "Ce texte contient des caractères de contrôle ou de direction du texte "
        "invisibles ; retirez-les.",
    },
    "field_range": {
        "en": "This value is out of range.",
        "fr": "Cette valeur est hors des limites.",
    },
    "invalid_email": {
        "en": "Enter a valid email address.",
        "fr": "Saisissez une adresse électronique valide.",
    },
    "invalid_phone": {
        "en": "Enter a valid phone number (with its country code if it is not in your country).",
        "fr": "Saisissez un numéro de téléphone valide (avec l'indicatif du pays s'il n'est "
        "pas dans votre pays).",
    },
    "invalid_country": {
        "en": "Choose a country from the list.",
        "fr": "Choisissez un pays dans la liste.",
    },
    "invalid_locale": {
        "en": "The language must be en or fr.",
        "fr": "La langue doit être en ou fr.",
    },
    "password_length": {
        "en": "Use 8 to 128 characters.",
        "fr": "Utilisez de 8 à 128 caractères.",
    },
    "password_common": {
        "en": "This password is too common; choose another one.",
        "fr": "Ce mot de passe est trop courant ; choisissez-en un autre.",
    },
    "current_password_required": {
        "en": "Enter your current password to change your email address.",
        "fr": "Saisissez votre mot de passe actuel pour changer d'adresse électronique.",
    },
    # --- billing ---------------------------------------------------------------------------
    "unknown_plan": {"en": "This plan does not exist.", "fr": "Cette formule n'existe pas."},
    "already_subscribed": {
        "en": "This account already has a paid subscription.",
        "fr": "Ce compte a déjà un abonnement payant.",
    },
    "not_allowed_in_status": {
        "en": "This is not possible in the account's current state.",
        "fr": "Ce n'est pas possible dans l'état actuel du compte.",
    },
    "no_card": {
        "en": "Add a card first.",
        "fr": "Ajoutez d'abord une carte.",
    },
    "invalid_event": {
        "en": "This event is not a well-formed Stripe event; it was recorded as rejected.",
        "fr": (
            "Cet événement n'est pas un événement Stripe bien formé ; "
            "il a été enregistré comme rejeté."
        ),
    },
    "card_expired": {
        "en": "The expiry date is in the past.",
        "fr": "La date d'expiration est dépassée.",
    },
    "vat_set_aside": {
        "en": "Your VAT ID was set aside because it does not belong to the new billing "
        "country. Add the VAT ID of that country if you have one.",
        "fr": "Votre numéro de TVA a été retiré car il ne correspond pas au nouveau pays de "
        "facturation. Ajoutez le numéro de TVA de ce pays si vous en avez un.",
    },
    "invoice_not_found": {"en": "No such invoice.", "fr": "Facture introuvable."},
    "invalid_cursor": {
        "en": "The page cursor is not valid; start again from the first page.",
        "fr": "Le curseur de page n'est pas valide ; reprenez à la première page.",
    },
    "payment_outcome_unknown": {
        "en": "We could not confirm the payment with the bank. We are checking it and will "
        "update your account; you will not be charged twice.",
        "fr": "Nous n'avons pas pu confirmer le paiement auprès de la banque. Nous le vérifions "
        "et mettrons votre compte à jour ; vous ne serez pas débité deux fois.",
    },
    # --- invoice documents -----------------------------------------------------------------
    "doc.invoice": {"en": "Invoice", "fr": "Facture"},
    "doc.number": {"en": "Invoice number", "fr": "Numéro de facture"},
    "doc.issued": {"en": "Issued", "fr": "Date d'émission"},
    "doc.period": {"en": "Period", "fr": "Période"},
    "doc.status": {"en": "Status", "fr": "Statut"},
    "doc.status.paid": {"en": "Paid", "fr": "Payée"},
    "doc.status.open": {"en": "Open", "fr": "En attente de paiement"},
    "doc.status.void": {"en": "Void", "fr": "Annulée"},
    "doc.seller": {"en": "Seller", "fr": "Vendeur"},
    "doc.customer": {"en": "Customer", "fr": "Client"},
    "doc.vat_id": {"en": "VAT ID", "fr": "N° de TVA"},
    "doc.description": {"en": "Description", "fr": "Description"},
    "doc.quantity": {"en": "Qty", "fr": "Qté"},
    "doc.unit_amount": {"en": "Unit price", "fr": "Prix unitaire"},
    "doc.amount": {"en": "Amount", "fr": "Montant"},
    "doc.subtotal": {"en": "Subtotal", "fr": "Sous-total"},
    "doc.tax": {"en": "VAT ({rate} %)", "fr": "TVA ({rate} %)"},
    "doc.total": {"en": "Total", "fr": "Total"},
    "doc.transactions": {"en": "Transaction summary", "fr": "Résumé des transactions"},
    "doc.no_transactions": {
        "en": "No payment attempt yet.",
        "fr": "Aucune tentative de paiement pour l'instant.",
    },
    "doc.date": {"en": "Date", "fr": "Date"},
    "doc.card": {"en": "Card", "fr": "Carte"},
    "doc.result": {"en": "Result", "fr": "Résultat"},
    "doc.tx.succeeded": {"en": "Paid", "fr": "Payé"},
    "doc.tx.failed": {"en": "Declined", "fr": "Refusé"},
    "doc.tx.requires_action": {"en": "Authentication required", "fr": "Authentification requise"},
    "doc.tx.unknown": {"en": "Being checked", "fr": "En cours de vérification"},
    "doc.print": {"en": "Print", "fr": "Imprimer"},
    # --- mail ------------------------------------------------------------------------------
    "mail.password_changed.subject": {
        "en": "Your HelpDesk password was changed",
        "fr": "Votre mot de passe HelpDesk a été modifié",
    },
    "mail.password_changed.body": {
        "en": "Hello {name},\n\nThe password of your HelpDesk account was changed on {at}. "
        "Every other session was signed out.\n\nIf you did not do this, reset your password "
        "and contact us at {support_email}.\n",
        "fr": "Bonjour {name},\n\nLe mot de passe de votre compte HelpDesk a été modifié le {at}. "
        "Toutes les autres sessions ont été déconnectées.\n\nSi vous n'êtes pas à l'origine de "
        "ce changement, réinitialisez votre mot de passe et écrivez-nous à {support_email}.\n",
    },
    "mail.payment_receipt.subject": {
        "en": "Your HelpDesk payment receipt ({number})",
        "fr": "Votre reçu de paiement HelpDesk ({number})",
    },
    "mail.payment_receipt.body": {
        "en": "Hello {name},\n\nWe received your payment of {amount} for invoice {number}. "
        "You can view and print it in My account: {console_url}\n",
        "fr": "Bonjour {name},\n\nNous avons bien reçu votre paiement de {amount} pour la "
        "facture {number}. Vous pouvez l'afficher et l'imprimer dans Mon compte : {console_url}\n",
    },
    "mail.payment_failed.subject": {
        "en": "Your HelpDesk payment did not go through ({number})",
        "fr": "Votre paiement HelpDesk n'a pas abouti ({number})",
    },
    "mail.payment_failed.body": {
        "en": "Hello {name},\n\nWe could not charge {amount} for invoice {number}. {reason}\n\n"
        "Update your card or apply the pending charges in My account: {console_url}\n",
        "fr": "Bonjour {name},\n\nNous n'avons pas pu prélever {amount} pour la facture "
        "{number}. {reason}\n\nMettez à jour votre carte ou appliquez les frais en attente dans "
        "Mon compte : {console_url}\n",
    },
    "mail.sign_in_throttled.subject": {
        "en": "Failed attempts to use your HelpDesk password",
        "fr": "Tentatives échouées avec votre mot de passe HelpDesk",
    },
    "mail.sign_in_throttled.body": {
        "en": "Hello {name},\n\nSeveral attempts with a wrong password were made on your "
        "HelpDesk account (the latest on {at}). To protect it, further attempts are slowed "
        "down for a while; you can still sign in at once from a device you have signed in "
        "from before.\n\nIf this was you, there is nothing to do. If it was not, sign in and "
        "change your password in My account ({console_url}), choosing one you use nowhere "
        "else. If you cannot sign in, contact us at {support_email}.\n",
        "fr": "Bonjour {name},\n\nPlusieurs tentatives avec un mot de passe erroné ont visé "
        "votre compte HelpDesk (la dernière le {at}). Pour le protéger, les tentatives "
        "suivantes sont ralenties pendant un moment ; vous pouvez toujours vous connecter "
        "aussitôt depuis un appareil déjà utilisé pour vous connecter.\n\nSi c'était vous, il "
        "n'y a rien à faire. Sinon, connectez-vous et changez votre mot de passe dans Mon "
        "compte ({console_url}), en choisissant un mot de passe que vous n'utilisez nulle part "
        "ailleurs. Si vous ne pouvez pas vous connecter, écrivez-nous à {support_email}.\n",
    },
    "mail.email_changed.subject": {
        "en": "Your HelpDesk email address was changed",
        "fr": "L'adresse électronique de votre compte HelpDesk a été modifiée",
    },
    "mail.email_changed.body": {
        "en": "Hello {name},\n\nThe email address of your HelpDesk account was changed from "
        "{old_email} to {new_email} on {at}.\n\nIf you did not do this, contact us at "
        "{support_email}.\n",
        "fr": "Bonjour {name},\n\nL'adresse électronique de votre compte HelpDesk est passée de "
        "{old_email} à {new_email} le {at}.\n\nSi vous n'êtes pas à l'origine de ce changement, "
        "écrivez-nous à {support_email}.\n",
    },
}

from chalicelib.i18n.declines import DECLINE_MESSAGES  # noqa: E402

MESSAGES.update(DECLINE_MESSAGES)

from chalicelib.i18n.vat import VAT_MESSAGES  # noqa: E402

MESSAGES.update(VAT_MESSAGES)

from chalicelib.i18n.lifecycle import LIFECYCLE_MESSAGES  # noqa: E402

MESSAGES.update(LIFECYCLE_MESSAGES)

from chalicelib.i18n.trials import TRIAL_MESSAGES  # noqa: E402

MESSAGES.update(TRIAL_MESSAGES)

from chalicelib.i18n.invoices import INVOICE_MESSAGES  # noqa: E402

MESSAGES.update(INVOICE_MESSAGES)
from chalicelib.i18n.security import SECURITY_MESSAGES  # noqa: E402

MESSAGES.update(SECURITY_MESSAGES)
from chalicelib.i18n.reminders import REMINDER_MESSAGES  # noqa: E402

MESSAGES.update(REMINDER_MESSAGES)

from chalicelib.i18n.credit_notes import CREDIT_MESSAGES  # noqa: E402

MESSAGES.update(CREDIT_MESSAGES)

from chalicelib.i18n.plans import PLAN_MESSAGES  # noqa: E402

MESSAGES.update(PLAN_MESSAGES)
