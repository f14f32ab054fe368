"""Invoice documents and plan names, in English and French, merged into :data:`catalog.MESSAGES`.

* Document labels with the amounts' tax basis spelled out (HT / TTC, "excl. VAT" / "incl. VAT").
* The legal notices (:func:`chalicelib.domain.legal.legal_notice_keys` picks them): the reason
  a 0 % rate applies, and for business customers the due date, the late-payment penalty rate
  and the €40 fixed recovery indemnity (Code de commerce L441-10, D441-5).
* :data:`PLAN_LABELS`: the name of each plan in each language, used wherever a plan is named
  to a person (``GET /plans``, the billing page, invoices, mail).  A plan configured through
  ``PLANS`` without an entry here keeps its configured name.
* French typography: a narrow no-break space (U+202F) before ``:`` ``;`` ``!`` ``?`` and ``%``
  (:func:`label` for "Label : value" pairs); amounts come from Babel (``15,00 €``).
"""

from __future__ import annotations

NNBSP = "\u202f"

INVOICE_MESSAGES: dict[str, dict[str, str]] = {
    "doc.unit_amount": {"en": "Unit price excl. VAT", "fr": "Prix unitaire HT"},
    "doc.amount": {"en": "Amount excl. VAT", "fr": "Montant HT"},
    "doc.subtotal": {"en": "Total excl. VAT", "fr": "Total HT"},
    "doc.tax": {"en": "VAT ({rate}%)", "fr": f"TVA ({{rate}}{NNBSP}%)"},
    "doc.total": {"en": "Total incl. VAT", "fr": "Total TTC"},
    "doc.tx_amount": {"en": "Amount", "fr": "Montant"},
    "doc.due_date": {"en": "Due date", "fr": "Date d’échéance"},
    "doc.issued": {"en": "Issue date", "fr": "Date d’émission"},
    "doc.legal_form": {
        "en": "{form} with a share capital of {capital}",
        "fr": "{form} au capital de {capital}",
    },
    "doc.siren": {"en": "SIREN", "fr": "SIREN"},
    "doc.notices": {"en": "Notices", "fr": "Mentions"},
    "doc.paid_by_card": {"en": "Paid by card", "fr": "Payée par carte"},
    "doc.status.credited": {"en": "Credited", "fr": "Avoir émis"},
    "doc.status.disputed": {"en": "Disputed", "fr": "Contestée"},
    "billing_address_required": {
        "en": "Add your billing address before your VAT ID: invoices to a business show it.",
        "fr": "Ajoutez votre adresse de facturation avant votre numéro de TVA\u202f: les factures "
        "adressées à une entreprise la mentionnent.",
    },
    "address_first": {
        "en": "Add the billing address first.",
        "fr": "Ajoutez d’abord l’adresse de facturation.",
    },
    # --- reasons a 0 % rate applies ------------------------------------------------------
    "tax.exemption.reverse_charge": {
        "en": "Reverse charge: VAT to be accounted for by the customer "
        "(Art. 196 of Directive 2006/112/EC).",
        "fr": f"Autoliquidation{NNBSP}: TVA due par le preneur "
        "(art. 196 de la directive 2006/112/CE).",
    },
    "tax.exemption.outside_eu_business": {
        "en": "VAT not applicable, art. 259-1 CGI (services to a business established "
        "outside the EU).",
        "fr": "TVA non applicable, art. 259-1 du CGI.",
    },
    "tax.exemption.outside_eu_consumer": {
        "en": "VAT not applicable, art. 259 B CGI (electronically supplied services to a "
        "customer outside the EU).",
        "fr": "TVA non applicable, art. 259 B du CGI.",
    },
    "tax.exemption.excluded_territory": {
        "en": "VAT not applicable: {territory} is outside the EU VAT territory "
        "({article} of Directive 2006/112/EC).",
        "fr": f"TVA non applicable{NNBSP}: {{territory}} hors du territoire de la TVA de "
        "l’Union ({article} de la directive 2006/112/CE).",
    },
    # --- business customers (Code de commerce L441-9, L441-10, D441-5) ---------------------
    "notice.due_date": {
        "en": "Due date: {date}, paid by card on issue; no discount for early payment.",
        "fr": f"Date d’échéance{NNBSP}: {{date}}, payée par carte à l’émission{NNBSP}; pas "
        "d’escompte pour paiement anticipé.",
    },
    "notice.late_penalties": {
        "en": "Late payment: penalties at the European Central Bank's main refinancing rate "
        "plus 10 percentage points, due without a reminder (art. L441-10 of the French "
        "Commercial Code).",
        "fr": f"Pénalités de retard{NNBSP}: taux de refinancement de la Banque centrale "
        "européenne majoré de 10 points, exigibles sans rappel (art. L441-10 du Code de "
        "commerce).",
    },
    "notice.recovery_indemnity": {
        "en": "Fixed indemnity for recovery costs in case of late payment: €40 "
        "(art. D441-5 of the French Commercial Code).",
        "fr": f"Indemnité forfaitaire pour frais de recouvrement en cas de retard de "
        f"paiement{NNBSP}: 40{NNBSP}€ (art. D441-5 du Code de commerce).",
    },
    # --- special territories (domain.tax.SPECIAL_TERRITORIES) ------------------------------
    "territory.IC": {"en": "the Canary Islands", "fr": "les îles Canaries"},
    "territory.EA-CE": {"en": "Ceuta", "fr": "Ceuta"},
    "territory.EA-ML": {"en": "Melilla", "fr": "Melilla"},
    "territory.DE-HELIGOLAND": {"en": "Heligoland", "fr": "Heligoland"},
    "territory.DE-BUESINGEN": {"en": "Büsingen am Hochrhein", "fr": "Büsingen am Hochrhein"},
    "territory.IT-LIVIGNO": {"en": "Livigno", "fr": "Livigno"},
    "territory.IT-CAMPIONE": {"en": "Campione d'Italia", "fr": "Campione d’Italia"},
    "territory.GR-ATHOS": {"en": "Mount Athos", "fr": "le mont Athos"},
    "territory.AX": {"en": "the Åland Islands", "fr": "les îles Åland"},
}

PLAN_LABELS: dict[str, dict[str, str]] = {
    "basic-monthly": {"en": "Basic (monthly)", "fr": "Basic (mensuel)"},
    "pro-monthly": {"en": "Pro (monthly)", "fr": "Pro (mensuel)"},
    "pro-yearly": {"en": "Pro (yearly)", "fr": "Pro (annuel)"},
}


def plan_label(plan_id: str, locale: str, fallback: str) -> str:
    """The plan's name in ``locale`` (English when missing), else the configured ``fallback``."""
    labels = PLAN_LABELS.get(plan_id)
    if not labels:
        return fallback
    return labels.get(locale) or labels["en"]


def line_label(plan_id: str, description: str, locale: str) -> str:
    """An invoice line's description in ``locale``: a line naming its plan (in any language)
    is shown with the plan's label; any other line as written."""
    labels = PLAN_LABELS.get(plan_id)
    if labels and description in labels.values():
        return labels.get(locale) or description
    return description


def label(text: str, locale: str) -> str:
    """``"Date d’émission"`` -> ``"Date d’émission :"`` (narrow no-break space) in French,
    ``"Issue date:"`` in English."""
    return f"{text}{NNBSP}:" if locale == "fr" else f"{text}:"


PLAN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "basic-monthly": {
        "en": "Email tickets and a shared inbox, billed monthly per agent seat.",
        "fr": "Tickets par e-mail et boîte partagée, facturés chaque mois par siège d’agent.",
    },
    "pro-monthly": {
        "en": "Every channel, automations and reports, billed monthly per agent seat.",
        "fr": "Tous les canaux, automatisations et rapports, facturés chaque mois par siège "
        "d’agent.",
    },
    "pro-yearly": {
        "en": "Pro billed yearly per agent seat: two months free.",
        "fr": f"Pro facturé chaque année par siège d’agent{NNBSP}: deux mois offerts.",
    },
}


def plan_description(plan_id: str, locale: str) -> str | None:
    """What the plan offers, in ``locale`` (English when missing); None when unknown."""
    texts = PLAN_DESCRIPTIONS.get(plan_id)
    return (texts.get(locale) or texts["en"]) if texts else None
