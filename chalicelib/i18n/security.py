"""Account security messages, mail and activity labels, in English and French.

Merged into :data:`catalog.MESSAGES` at the end of ``catalog.py`` (as ``trials.py`` is): the
``invalid_token`` error, the mails of password recovery and email proof
(``mail.<name>.subject/body``, each with its ``{link}``), and the labels of the activity log
(``activity.<event>``: the audit events the services write).
"""

from __future__ import annotations

from chalicelib.domain.account import AuditEvent

SECURITY_MESSAGES: dict[str, dict[str, str]] = {
    # --- errors ---------------------------------------------------------------------------------
    "invalid_token": {
        "en": "This link is not valid any more: it was already used, it expired or a newer one "
        "was sent. Ask for a new one.",
        "fr": "Ce lien n'est plus valable : il a déjà servi, il a expiré ou un lien plus récent "
        "a été envoyé. Demandez-en un nouveau.",
    },
    "mfa_required": {
        "en": "Enter the 6-digit code of your authenticator app (or a recovery code).",
        "fr": "Saisissez le code à 6 chiffres de votre application d'authentification (ou un "
        "code de secours).",
    },
    "invalid_code": {
        "en": "This code is not valid (wrong, expired or already used).",
        "fr": "Ce code n'est pas valable (erroné, expiré ou déjà utilisé).",
    },
    "mfa_already_enabled": {
        "en": "Two-factor sign-in is already on.",
        "fr": "La connexion en deux étapes est déjà activée.",
    },
    "mfa_not_started": {
        "en": "Start the two-factor setup first.",
        "fr": "Commencez d'abord la configuration de la connexion en deux étapes.",
    },
    "mfa_not_enabled": {
        "en": "Two-factor sign-in is off.",
        "fr": "La connexion en deux étapes est désactivée.",
    },
    # --- mail -----------------------------------------------------------------------------------
    "mail.password_reset.subject": {
        "en": "Reset your HelpDesk password",
        "fr": "Réinitialisez votre mot de passe HelpDesk",
    },
    "mail.password_reset.body": {
        "en": "Hello {name},\n\nSomeone (probably you) asked on {at} to reset the password of "
        "your HelpDesk account. Choose a new password here (the link works once, for one "
        "hour):\n\n{link}\n\nIf you did not ask for this, ignore this mail: your password "
        "stays as it is.\n",
        "fr": "Bonjour {name},\n\nQuelqu'un (sans doute vous) a demandé le {at} la "
        "réinitialisation du mot de passe de votre compte HelpDesk. Choisissez un nouveau mot "
        "de passe ici (le lien sert une fois, pendant une heure) :\n\n{link}\n\nSi vous n'avez "
        "rien demandé, ignorez ce message : votre mot de passe ne change pas.\n",
    },
    "mail.password_reset_done.subject": {
        "en": "Your HelpDesk password was reset",
        "fr": "Votre mot de passe HelpDesk a été réinitialisé",
    },
    "mail.password_reset_done.body": {
        "en": "Hello {name},\n\nThe password of your HelpDesk account was reset on {at} and "
        "every session was signed out.\n\nIf you did not do this, reset it again at once "
        "({link}) and contact us at {support_email}.\n",
        "fr": "Bonjour {name},\n\nLe mot de passe de votre compte HelpDesk a été réinitialisé "
        "le {at} et toutes les sessions ont été déconnectées.\n\nSi vous n'êtes pas à "
        "l'origine de ce changement, réinitialisez-le de nouveau sans attendre ({link}) et "
        "écrivez-nous à {support_email}.\n",
    },
    "mail.verify_email.subject": {
        "en": "Confirm your HelpDesk email address",
        "fr": "Confirmez votre adresse électronique HelpDesk",
    },
    "mail.verify_email.body": {
        "en": "Hello {name},\n\nWelcome to HelpDesk. Confirm that this address is yours by "
        "opening this link (valid for 7 days):\n\n{link}\n",
        "fr": "Bonjour {name},\n\nBienvenue sur HelpDesk. Confirmez que cette adresse est bien "
        "la vôtre en ouvrant ce lien (valable 7 jours) :\n\n{link}\n",
    },
    "mail.email_change_verify.subject": {
        "en": "Confirm your new HelpDesk email address",
        "fr": "Confirmez votre nouvelle adresse électronique HelpDesk",
    },
    "mail.email_change_verify.body": {
        "en": "Hello {name},\n\nYou asked on {at} to use {new_email} for your HelpDesk "
        "account. Confirm it by opening this link (valid for 24 hours); until then your "
        "account keeps its current address:\n\n{link}\n",
        "fr": "Bonjour {name},\n\nVous avez demandé le {at} à utiliser {new_email} pour votre "
        "compte HelpDesk. Confirmez-la en ouvrant ce lien (valable 24 heures) ; d'ici là, "
        "votre compte garde son adresse actuelle :\n\n{link}\n",
    },
    "mail.email_change_requested.subject": {
        "en": "A change of your HelpDesk email address was requested",
        "fr": "Un changement d'adresse électronique a été demandé sur votre compte HelpDesk",
    },
    "mail.email_change_requested.body": {
        "en": "Hello {name},\n\nOn {at} someone signed in to your HelpDesk account asked to "
        "change its address from {old_email} to {new_email}. The change takes effect once the "
        "new address is confirmed.\n\nIf this was not you, open this link: it cancels the "
        "change (or puts this address back), signs out every session and lets you choose a "
        "new password:\n\n{link}\n\nQuestions: {support_email}.\n",
        "fr": "Bonjour {name},\n\nLe {at}, une personne connectée à votre compte HelpDesk a "
        "demandé à remplacer son adresse {old_email} par {new_email}. Le changement prend "
        "effet une fois la nouvelle adresse confirmée.\n\nSi ce n'était pas vous, ouvrez ce "
        "lien : il annule le changement (ou rétablit cette adresse), déconnecte toutes les "
        "sessions et vous permet de choisir un nouveau mot de passe :\n\n{link}\n\n"
        "Questions : {support_email}.\n",
    },
    "mail.email_change_cancelled.subject": {
        "en": "The email change of your HelpDesk account was cancelled",
        "fr": "Le changement d'adresse de votre compte HelpDesk a été annulé",
    },
    "mail.email_change_cancelled.body": {
        "en": "Hello {name},\n\nAs you asked on {at}, your HelpDesk account keeps this address "
        "and every session was signed out. Someone may know your password: choose a new one "
        "now (the link works once, for one hour):\n\n{link}\n",
        "fr": "Bonjour {name},\n\nComme vous l'avez demandé le {at}, votre compte HelpDesk "
        "garde cette adresse et toutes les sessions ont été déconnectées. Quelqu'un connaît "
        "peut-être votre mot de passe : choisissez-en un nouveau dès maintenant (le lien sert "
        "une fois, pendant une heure) :\n\n{link}\n",
    },
    "mail.reactivation_received.subject": {
        "en": "We received your request to reactivate your HelpDesk account",
        "fr": "Nous avons bien reçu votre demande de réactivation de votre compte HelpDesk",
    },
    "mail.reactivation_received.body": {
        "en": "Hello {name},\n\nThank you: on {at} you asked us to bring your HelpDesk "
        "subscription back. Our support team will contact you shortly to restart it; nothing "
        "is charged before that. Questions: {support_email}.\n",
        "fr": "Bonjour {name},\n\nMerci : le {at}, vous nous avez demandé de rétablir votre "
        "abonnement HelpDesk. Notre équipe d'assistance vous contactera prochainement pour le "
        "relancer ; rien n'est prélevé d'ici là. Questions : {support_email}.\n",
    },
    "mail.mfa_enabled.subject": {
        "en": "Two-factor sign-in is on for your HelpDesk account",
        "fr": "La connexion en deux étapes est activée sur votre compte HelpDesk",
    },
    "mail.mfa_enabled.body": {
        "en": "Hello {name},\n\nTwo-factor sign-in was turned on for your HelpDesk account on "
        "{at}: sign-in now asks for a code of your authenticator app. Keep your recovery codes "
        "somewhere safe.\n\nIf you did not do this, contact us at {support_email}.\n",
        "fr": "Bonjour {name},\n\nLa connexion en deux étapes a été activée sur votre compte "
        "HelpDesk le {at} : la connexion demande désormais un code de votre application "
        "d'authentification. Gardez vos codes de secours en lieu sûr.\n\nSi vous n'êtes pas à "
        "l'origine de ce changement, écrivez-nous à {support_email}.\n",
    },
    "mail.mfa_disabled.subject": {
        "en": "Two-factor sign-in was turned off for your HelpDesk account",
        "fr": "La connexion en deux étapes a été désactivée sur votre compte HelpDesk",
    },
    "mail.mfa_disabled.body": {
        "en": "Hello {name},\n\nTwo-factor sign-in was turned off for your HelpDesk account on "
        "{at}.\n\nIf you did not do this, reset your password ({console_url}) and contact us "
        "at {support_email}.\n",
        "fr": "Bonjour {name},\n\nLa connexion en deux étapes a été désactivée sur votre compte "
        "HelpDesk le {at}.\n\nSi vous n'êtes pas à l'origine de ce changement, réinitialisez "
        "votre mot de passe ({console_url}) et écrivez-nous à {support_email}.\n",
    },
    "mail.mfa_recovery_used.subject": {
        "en": "A recovery code was used to sign in to HelpDesk",
        "fr": "Un code de secours a servi à vous connecter à HelpDesk",
    },
    "mail.mfa_recovery_used.body": {
        "en": "Hello {name},\n\nA recovery code was used to sign in to your HelpDesk account on "
        "{at}; it cannot be used again.\n\nIf this was not you, reset your password "
        "({console_url}) and contact us at {support_email}.\n",
        "fr": "Bonjour {name},\n\nUn code de secours a servi à vous connecter à votre compte "
        "HelpDesk le {at} ; il ne peut plus resservir.\n\nSi ce n'était pas vous, "
        "réinitialisez votre mot de passe ({console_url}) et écrivez-nous à {support_email}.\n",
    },
    # --- the activity log -----------------------------------------------------------------------
    "activity.signup": {"en": "Account created", "fr": "Compte créé"},
    "activity.login": {"en": "Signed in", "fr": "Connexion"},
    "activity.login_failed": {"en": "Failed sign-in", "fr": "Échec de connexion"},
    "activity.password_attempts_throttled": {
        "en": "Password attempts slowed down",
        "fr": "Tentatives de mot de passe ralenties",
    },
    "activity.password_changed": {"en": "Password changed", "fr": "Mot de passe modifié"},
    "activity.password_reset_requested": {
        "en": "Password reset requested",
        "fr": "Réinitialisation du mot de passe demandée",
    },
    "activity.password_reset": {"en": "Password reset", "fr": "Mot de passe réinitialisé"},
    "activity.email_verified": {"en": "Email address confirmed", "fr": "Adresse confirmée"},
    "activity.email_change_requested": {
        "en": "Email change requested",
        "fr": "Changement d'adresse demandé",
    },
    "activity.email_changed": {"en": "Email address changed", "fr": "Adresse modifiée"},
    "activity.email_change_cancelled": {
        "en": "Email change cancelled",
        "fr": "Changement d'adresse annulé",
    },
    "activity.profile_updated": {"en": "Profile updated", "fr": "Profil modifié"},
    "activity.session_ended": {"en": "Session ended", "fr": "Session fermée"},
    "activity.sessions_ended": {
        "en": "Other sessions ended",
        "fr": "Autres sessions fermées",
    },
    "activity.address_updated": {
        "en": "Billing address updated",
        "fr": "Adresse de facturation modifiée",
    },
    "activity.card_replaced": {"en": "Credit card replaced", "fr": "Carte bancaire remplacée"},
    "activity.card_edited": {"en": "Credit card edited", "fr": "Carte bancaire modifiée"},
    "activity.card_removed": {"en": "Saved card removed", "fr": "Carte enregistrée supprimée"},
    "activity.card_updated_by_network": {
        "en": "Credit card updated by the card network",
        "fr": "Carte bancaire mise à jour par le réseau",
    },
    "activity.subscribed": {"en": "Subscribed", "fr": "Abonnement souscrit"},
    "activity.pending_charges_applied": {
        "en": "Pending charges applied",
        "fr": "Paiements en attente réglés",
    },
    "activity.vat_id_set": {"en": "VAT ID set", "fr": "Numéro de TVA enregistré"},
    "activity.vat_id_removed": {"en": "VAT ID removed", "fr": "Numéro de TVA retiré"},
    "activity.account_cancelled": {"en": "Account cancelled", "fr": "Compte résilié"},
    "activity.account_reactivated": {"en": "Account reactivated", "fr": "Compte réactivé"},
    "activity.reactivation_requested": {
        "en": "Reactivation requested",
        "fr": "Réactivation demandée",
    },
    "activity.reactivation_approved": {
        "en": "Reactivation approved",
        "fr": "Réactivation acceptée",
    },
    "activity.reactivation_rejected": {
        "en": "Reactivation declined",
        "fr": "Réactivation refusée",
    },
    "activity.trial_expired": {"en": "Free trial ended", "fr": "Fin de l'essai gratuit"},
    "activity.mfa_enabled": {
        "en": "Two-factor sign-in turned on",
        "fr": "Connexion en deux étapes activée",
    },
    "activity.mfa_disabled": {
        "en": "Two-factor sign-in turned off",
        "fr": "Connexion en deux étapes désactivée",
    },
    "activity.other": {"en": "Account event", "fr": "Événement du compte"},
    "activity.from": {"en": "from {ip}", "fr": "depuis {ip}"},
    "activity.by_support": {"en": "by our support team", "fr": "par notre support"},
    "activity.new_email": {"en": "new address: {email}", "fr": "nouvelle adresse : {email}"},
}


def activity_label(event: str, locale: str) -> str:
    """The event's name in ``locale`` (a generic one for events without a label)."""
    from chalicelib.i18n import translate

    key = f"activity.{event}"
    return translate(key if key in SECURITY_MESSAGES else "activity.other", locale)


def activity_detail(event: AuditEvent, locale: str) -> str:
    """What else the log shows: the browser, the new address, who acted and from where."""
    from chalicelib.i18n import translate

    parts = []
    if event.details.get("browser"):
        parts.append(event.details["browser"])
    if event.details.get("new"):
        parts.append(translate("activity.new_email", locale, email=event.details["new"]))
    if event.actor == "support":
        parts.append(translate("activity.by_support", locale))
    if event.ip:
        parts.append(translate("activity.from", locale, ip=event.ip))
    return " · ".join(parts)
