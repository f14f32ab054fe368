"""Credit notes, refunds, disputes and prices with VAT, in English and French.

Merged into :data:`catalog.MESSAGES` at the end of ``catalog.py``: the credit note document's
labels and reasons, the errors of the refund route and of subscribing, the customer's mail
with the credit note (``credit_note`` / ``credit_note_refund``), support's mail about a
dispute (``payment_disputed``) and the EU consumer's consent to start at once.
"""

from __future__ import annotations

NNBSP = "\u202f"

CREDIT_MESSAGES: dict[str, dict[str, str]] = {
    # --- documents ----------------------------------------------------------------------
    "doc.credit_note": {"en": "Credit note", "fr": "Avoir"},
    "doc.credited_invoice": {"en": "Credited invoice", "fr": "Facture d’origine"},
    "doc.reason": {"en": "Reason", "fr": "Motif"},
    "doc.refund_terms": {
        "en": "Amount credited to the customer (refunded to the card when paid by card)",
        "fr": "Montant dû au client (remboursé sur la carte en cas de paiement par carte)",
    },
    "credit.reason.first_payment_failed": {
        "en": "First payment failed: the subscription did not start",
        "fr": f"Échec du premier paiement{NNBSP}: l’abonnement n’a pas commencé",
    },
    "credit.reason.account_cancelled": {
        "en": "Account cancelled with this invoice unpaid",
        "fr": "Compte résilié, facture non payée",
    },
    "credit.reason.period_replaced": {
        "en": "Period not served (account suspended); replaced by a new period",
        "fr": f"Période non fournie (compte suspendu){NNBSP}; remplacée par une nouvelle période",
    },
    "credit.reason.refund": {"en": "Refund", "fr": "Remboursement"},
    "credit.reason.refunded_at_stripe": {
        "en": "Refund made by our payment provider",
        "fr": "Remboursement effectué par notre prestataire de paiement",
    },
    "credit.refund.pending": {"en": "Refund in progress", "fr": "Remboursement en cours"},
    "credit.refund.succeeded": {"en": "Refunded", "fr": "Remboursé"},
    "credit.refund.failed": {"en": "Refund failed", "fr": "Échec du remboursement"},
    # --- errors -------------------------------------------------------------------------
    "credit_note_not_found": {"en": "No such credit note.", "fr": "Avoir introuvable."},
    "nothing_to_refund": {
        "en": "Nothing is left to refund on this invoice.",
        "fr": "Il ne reste rien à rembourser sur cette facture.",
    },
    "nothing_to_credit": {
        "en": "This invoice is already fully credited.",
        "fr": "Cette facture a déjà fait l’objet d’un avoir total.",
    },
    "invalid_amount": {
        "en": "Give a whole amount in minor units (cents), above zero.",
        "fr": "Indiquez un montant entier en centimes, supérieur à zéro.",
    },
    "amount_above_refundable": {
        "en": "The amount is above what is left to refund on this invoice.",
        "fr": "Le montant dépasse ce qu’il reste à rembourser sur cette facture.",
    },
    "price_changed": {
        "en": "The price to pay is not the one you confirmed (your billing country or VAT "
        "changed). Check the new amount and confirm it again.",
        "fr": "Le prix à payer n’est plus celui que vous avez confirmé (pays de facturation ou "
        "TVA modifiés). Vérifiez le nouveau montant et confirmez-le à nouveau.",
    },
    "withdrawal_consent_required": {
        "en": "To start your subscription now, confirm that the service starts at once and "
        "that you then lose your 14-day right of withdrawal.",
        "fr": "Pour démarrer votre abonnement maintenant, confirmez que le service commence "
        "immédiatement et que vous renoncez ainsi à votre droit de rétractation de 14 jours.",
    },
    "withdrawal.consent_text": {
        "en": "I ask for the service to start at once and I acknowledge that I thereby lose my "
        "14-day right of withdrawal.",
        "fr": "Je demande que le service commence immédiatement et je reconnais perdre ainsi "
        "mon droit de rétractation de 14 jours.",
    },
    "notice.withdrawal_waived": {
        "en": "On {date} the customer asked for the service to start at once and acknowledged "
        "losing the 14-day right of withdrawal (Directive 2011/83/EU, art. 16 m).",
        "fr": "Le {date}, le client a demandé l’exécution immédiate du service et reconnu "
        "perdre son droit de rétractation de 14 jours (art. L221-28 du Code de la consommation).",
    },
    # --- mail ---------------------------------------------------------------------------
    "mail.credit_note.subject": {
        "en": "Credit note {number} for invoice {invoice}",
        "fr": "Avoir {number} sur la facture {invoice}",
    },
    "mail.credit_note.body": {
        "en": "Hello {name},\n\nWe issued credit note {number} of {amount} for invoice "
        "{invoice}: nothing is owed on it any more. You can view and print it in My account: "
        "{console_url}\n",
        "fr": "Bonjour {name},\n\nNous avons émis l’avoir {number} de {amount} sur la facture "
        f"{{invoice}}{NNBSP}: plus rien n’est dû à ce titre. Vous pouvez l’afficher et "
        f"l’imprimer dans Mon compte{NNBSP}: {{console_url}}\n",
    },
    "mail.credit_note_refund.subject": {
        "en": "Your refund of {amount} (credit note {number})",
        "fr": "Votre remboursement de {amount} (avoir {number})",
    },
    "mail.credit_note_refund.body": {
        "en": "Hello {name},\n\nWe are refunding {amount} of invoice {invoice} to the card you "
        "paid with; it can take 5 to 10 days to appear on your statement. Credit note "
        "{number} records it; view and print it in My account: {console_url}\n",
        "fr": "Bonjour {name},\n\nNous vous remboursons {amount} sur la facture {invoice}, sur "
        "la carte utilisée pour le paiement\u202f; le remboursement peut mettre 5 à 10 jours à "
        f"apparaître sur votre relevé. L’avoir {{number}} l’atteste{NNBSP}; vous pouvez "
        f"l’afficher et l’imprimer dans Mon compte{NNBSP}: {{console_url}}\n",
    },
    "mail.payment_disputed.subject": {
        "en": "Payment disputed: {email} ({number})",
        "fr": f"Paiement contesté{NNBSP}: {{email}} ({{number}})",
    },
    "mail.payment_disputed.body": {
        "en": "The cardholder of account {account_id} ({email}) disputed the payment "
        "{payment_intent} of invoice {number}. Answer the dispute in Stripe's dashboard "
        "before its deadline; the invoice is marked disputed.\n",
        "fr": "Le titulaire de la carte du compte {account_id} ({email}) conteste le paiement "
        "{payment_intent} de la facture {number}. Répondez à la contestation dans le tableau "
        "de bord Stripe avant l’échéance\u202f; la facture est marquée contestée.\n",
    },
    "mail.refund_failed.subject": {
        "en": "Refund failed: {number} ({amount})",
        "fr": f"Remboursement refusé{NNBSP}: {{number}} ({{amount}})",
    },
    "mail.refund_failed.body": {
        "en": "Stripe did not refund {amount} for credit note {number} (invoice {invoice}, "
        "account {account_id}, payment {payment_intent}): {reason}. The credit note stands; "
        "give the money back to the customer by other means.\n",
        "fr": "Stripe n’a pas remboursé {amount} pour l’avoir {number} (facture {invoice}, "
        "compte {account_id}, paiement {payment_intent})\u202f: {reason}. L’avoir reste "
        "valable\u202f; remboursez le client par un autre moyen.\n",
    },
}
