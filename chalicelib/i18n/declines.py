"""Messages for card declines and payment-method errors, in English and French.

Keys are the ``message_key`` values of :func:`chalicelib.domain.payments.decline_guidance`
(``decline.*`` and the generic ``card_declined``) and the ``invalid_payment_method`` code.  Each
says what the customer can do; none reveals fraud suspicion (the fraud codes use the generic
text) and none repeats Stripe's own message.  ``catalog.py`` merges this table into
``MESSAGES``.  It also holds the sentences that tell the customer when an unpaid account is
suspended (``decline.suspends_on``, ``decline.now_suspended``) and the suspension mail.
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
    "decline.use_another_card": {
        "en": "This card cannot be used for this payment. Use another card.",
        "fr": "Cette carte ne peut pas être utilisée pour ce paiement. Utilisez une autre carte.",
    },
    "decline.try_again_later": {
        "en": "The payment could not go through this time. We will try again automatically; "
        "you can also try again later or use another card.",
        "fr": "Le paiement n'a pas pu aboutir cette fois-ci. Nous réessaierons automatiquement ; "
        "vous pouvez aussi réessayer plus tard ou utiliser une autre carte.",
    },
    "decline.pin_required": {
        "en": "Your bank asks for the card's PIN, which cannot be entered online. Use another "
        "card, or call your bank.",
        "fr": "Votre banque demande le code de la carte, qui ne peut pas être saisi en ligne. "
        "Utilisez une autre carte, ou appelez votre banque.",
    },
    "decline.pin_try_exceeded": {
        "en": "The card is blocked after too many wrong PIN entries. Call your bank to unblock "
        "it, or use another card.",
        "fr": "La carte est bloquée après trop de codes erronés. Appelez votre banque pour la "
        "débloquer, ou utilisez une autre carte.",
    },
    "decline.approve_with_id": {
        "en": "Your bank could not authorise this payment. Try again in a moment; if it fails "
        "again, call your bank.",
        "fr": "Votre banque n'a pas pu autoriser ce paiement. Réessayez dans un instant ; en "
        "cas de nouvel échec, appelez votre banque.",
    },
    "decline.call_issuer": {
        "en": "Your bank declined the payment and asks you to call them. Call the number on the "
        "back of your card, then pay the pending charges, or use another card.",
        "fr": "Votre banque a refusé le paiement et vous demande de l'appeler. Appelez le "
        "numéro au dos de votre carte, puis réglez les paiements en attente, ou utilisez une "
        "autre carte.",
    },
    "decline.card_velocity_exceeded": {
        "en": "The card has reached its spending limit or its balance. Ask your bank to raise "
        "the limit, wait for it to reset, or use another card.",
        "fr": "La carte a atteint son plafond de dépenses ou son solde. Demandez à votre banque "
        "de relever le plafond, attendez qu'il soit réinitialisé, ou utilisez une autre carte.",
    },
    "decline.withdrawal_count_limit_exceeded": {
        "en": "The card has reached the number of payments its bank allows for now. Try again "
        "once the limit resets, or use another card.",
        "fr": "La carte a atteint le nombre de paiements autorisés par sa banque pour le "
        "moment. Réessayez une fois la limite réinitialisée, ou utilisez une autre carte.",
    },
    "decline.currency_not_supported": {
        "en": "This card cannot pay in this currency. Use another card.",
        "fr": "Cette carte ne permet pas de payer dans cette devise. Utilisez une autre carte.",
    },
    "decline.duplicate_transaction": {
        "en": "A payment for the same amount was just made with this card. Check your bank "
        "statement before trying again.",
        "fr": "Un paiement du même montant vient d'être fait avec cette carte. Vérifiez votre "
        "relevé bancaire avant de réessayer.",
    },
    "decline.invalid_account": {
        "en": "The card or its account is no longer valid. Use another card.",
        "fr": "La carte ou son compte n'est plus valide. Utilisez une autre carte.",
    },
    "decline.issuer_not_available": {
        "en": "Your bank could not be reached to authorise the payment. We will try again "
        "automatically; you can also try again in a few minutes.",
        "fr": "Votre banque n'a pas pu être jointe pour autoriser le paiement. Nous "
        "réessaierons automatiquement ; vous pouvez aussi réessayer dans quelques minutes.",
    },
    "decline.processing_error": {
        "en": "An error occurred while processing the card. Try again; if it happens again, "
        "use another card.",
        "fr": "Une erreur est survenue pendant le traitement de la carte. Réessayez ; si elle "
        "se reproduit, utilisez une autre carte.",
    },
    "decline.new_account_information": {
        "en": "Your bank has issued new details for this card. Enter the new card details.",
        "fr": "Votre banque a émis de nouvelles informations pour cette carte. Saisissez les "
        "nouvelles informations de la carte.",
    },
    "decline.revoked": {
        "en": "You asked your bank to stop payments to us with this card, so we will not "
        "charge it again. Add another card to keep your subscription.",
        "fr": "Vous avez demandé à votre banque d'arrêter les paiements vers nous avec cette "
        "carte : nous ne la débiterons plus. Ajoutez une autre carte pour conserver votre "
        "abonnement.",
    },
    "decline.suspends_on": {
        "en": "If it is not paid, your account will be suspended on {date}.",
        "fr": "Faute de paiement, votre compte sera suspendu le {date}.",
    },
    "decline.now_suspended": {
        "en": "Your account is suspended until this is paid.",
        "fr": "Votre compte est suspendu jusqu'au règlement de ce paiement.",
    },
    "mail.account_suspended.subject": {
        "en": "Your HelpDesk account is suspended",
        "fr": "Votre compte HelpDesk est suspendu",
    },
    "mail.account_suspended.body": {
        "en": "Hello {name},\n\nWe could not charge {amount} for invoice {number}, so your "
        "account is suspended. Update your card or apply the pending charges in My account to "
        "start again at once: {console_url}\n",
        "fr": "Bonjour {name},\n\nNous n'avons pas pu prélever {amount} pour la facture "
        "{number} : votre compte est suspendu. Mettez à jour votre carte ou appliquez les "
        "frais en attente dans Mon compte pour le réactiver aussitôt : {console_url}\n",
    },
    "payment_in_progress": {  # 409 from subscribe and "apply pending charges"
        "en": "A payment is already on its way for this account. Wait a few minutes and look "
        "at your billing page again: you will not be charged twice.",
        "fr": "Un paiement est déjà en cours pour ce compte. Patientez quelques minutes puis "
        "consultez à nouveau votre page de facturation : vous ne serez pas débité deux fois.",
    },
    "invalid_payment_method": {
        "en": "This card could not be used. Enter your card details again.",
        "fr": "Cette carte ne peut pas être utilisée. Saisissez à nouveau les informations de "
        "votre carte.",
    },
}
