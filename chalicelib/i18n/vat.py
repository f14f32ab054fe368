"""The VAT messages, in English and French, to be merged into :data:`catalog.MESSAGES`.

Kept apart until the VAT routes are wired so that the building blocks (``domain/vat.py``,
``domain/vat_rates.py``) can land without touching the catalogue.  The keys follow the
catalogue's conventions: error codes (``invalid_vat_id``, ``vat_not_applicable``), field-message
codes (``vat_id_*``, shown under the ``vat_id`` field, so they take no parameters), and
``vat.reverse_charge_mention``, the mention an invoice must carry when the customer accounts for
the VAT (Art. 226(11a) of Directive 2006/112/EC; "Autoliquidation" is the word French law asks
for, CGI art. 242 nonies A).
"""

from __future__ import annotations

VAT_MESSAGES: dict[str, dict[str, str]] = {
    # --- errors -----------------------------------------------------------------------------
    "vat_not_applicable": {
        "en": "A VAT ID applies only to a billing address in a European Union member state.",
        "fr": "Un numéro de TVA intracommunautaire ne s'applique qu'à une adresse de "
        "facturation située dans un État membre de l'Union européenne.",
    },
    "invalid_vat_id": {
        "en": "This VAT ID is not valid.",
        "fr": "Ce numéro de TVA intracommunautaire n'est pas valide.",
    },
    # --- field messages (under "vat_id") ---------------------------------------------------
    "vat_id_required": {
        "en": "Enter your VAT ID, starting with its country prefix (for example FR).",
        "fr": "Saisissez votre numéro de TVA, en commençant par le préfixe de son pays "
        "(par exemple FR).",
    },
    "vat_id_too_long": {
        "en": "This value is too long to be a VAT ID.",
        "fr": "Cette valeur est trop longue pour être un numéro de TVA.",
    },
    "vat_id_characters": {
        "en": "A VAT ID contains only Latin letters and digits; spaces, dots and dashes are "
        "ignored.",
        "fr": "Un numéro de TVA ne contient que des lettres latines et des chiffres ; les "
        "espaces, points et tirets sont ignorés.",
    },
    "vat_id_prefix_mismatch": {
        "en": "The country prefix of this VAT ID does not match your billing country "
        "(Greece uses EL).",
        "fr": "Le préfixe de pays de ce numéro de TVA ne correspond pas à votre pays de "
        "facturation (la Grèce utilise EL).",
    },
    "vat_id_northern_ireland": {
        "en": "Northern Ireland (XI) VAT numbers cover trade in goods only; they do not apply "
        "to our services.",
        "fr": "Les numéros de TVA d'Irlande du Nord (XI) ne couvrent que le commerce de biens ; "
        "ils ne s'appliquent pas à nos services.",
    },
    "vat_id_length": {
        "en": "This VAT ID does not have the number of characters used in its country.",
        "fr": "Ce numéro de TVA n'a pas le nombre de caractères utilisé dans son pays.",
    },
    "vat_id_format": {
        "en": "This VAT ID does not have the format used in its country (a letter where a "
        "digit belongs, or the reverse).",
        "fr": "Ce numéro de TVA n'a pas le format utilisé dans son pays (une lettre à la place "
        "d'un chiffre, ou l'inverse).",
    },
    "vat_id_check_digits": {
        "en": "The check digits of this VAT ID do not match: please check it for a typing mistake.",
        "fr": "Les chiffres de contrôle de ce numéro de TVA ne correspondent pas : vérifiez "
        "qu'il ne contient pas de faute de frappe.",
    },
    # --- invoices ---------------------------------------------------------------------------
    "vat.reverse_charge_mention": {
        "en": "Reverse charge — VAT to be accounted for by the recipient "
        "(Art. 196 Directive 2006/112/EC)",
        "fr": "Autoliquidation — TVA due par le preneur (art. 196 de la directive 2006/112/CE)",
    },
}
