"""Messages for card declines and payment-method errors, in English and French.

Keys are the ``message_key`` values of :func:`chalicelib.domain.payments.decline_guidance`
(``decline.*`` and the generic ``card_declined``) and the ``invalid_payment_method`` code.  Each
says what the customer can do; none reveals fraud suspicion (the fraud codes use the generic
text) and none repeats Stripe's own message.  ``catalog.py`` merges this table into
``MESSAGES``.
"""

from __future__ import annotations

DECLINE_MESSAGES: dict[str, dict[str, str]] = {
    "card_declined": {
        "en": "Your card was declined. Use another card, or contact your bank to find out why.",
        "fr": "Votre carte a été refusée. Utilisez une autre carte, ou contactez votre banque "
        "pour en connaître la raison.",
    },
    "decline.check_card_details": {
        "en": "The card was declined: check the card number and expiry date, or use another card.",
        "fr": "La carte a été refusée : vérifiez le numéro de la carte et sa date d'expiration, "
        "ou utilisez une autre carte.",
    },
    "decline.check_cvc": {
        "en": "The card was declined: check the security code (the 3 or 4 digits printed on the "
        "card) and try again.",
        "fr": "La carte a été refusée : vérifiez le cryptogramme (les 3 ou 4 chiffres imprimés "
        "sur la carte) et réessayez.",
    },
    "decline.check_address": {
        "en": "The card was declined: check the billing address and postal code. Address "
        "verification can refuse valid cards issued outside the United States — update the "
        "address or use another card.",
        "fr": "La carte a été refusée : vérifiez l'adresse de facturation et le code postal. La "
        "vérification d'adresse peut refuser des cartes valides émises hors des États-Unis — "
        "mettez l'adresse à jour ou utilisez une autre carte.",
    },
    "decline.insufficient_funds": {
        "en": "The card was declined for insufficient funds. Use another card, or try again "
        "once the funds are available.",
        "fr": "La carte a été refusée pour provision insuffisante. Utilisez une autre carte, ou "
        "réessayez lorsque les fonds seront disponibles.",
    },
    "decline.authentication_required": {
        "en": "Your bank asks you to authenticate this payment. Sign in to the console and pay "
        "the pending charges there to confirm it with your bank.",
        "fr": "Votre banque vous demande d'authentifier ce paiement. Connectez-vous à la console "
        "et réglez-y les paiements en attente pour le confirmer auprès de votre banque.",
    },
    "decline.card_not_supported": {
        "en": "This card does not support this kind of payment. Use another card.",
        "fr": "Cette carte n'accepte pas ce type de paiement. Utilisez une autre carte.",
    },
    "decline.call_bank": {
        "en": "Your bank declined the payment without giving a reason. Call your bank to "
        "authorise it, or use another card.",
        "fr": "Votre banque a refusé le paiement sans en donner la raison. Appelez votre banque "
        "pour l'autoriser, ou utilisez une autre carte.",
    },
    "invalid_payment_method": {
        "en": "This card could not be used. Enter your card details again.",
        "fr": "Cette carte ne peut pas être utilisée. Saisissez à nouveau les informations de "
        "votre carte.",
    },
}
