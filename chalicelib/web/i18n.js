// The console's one catalogue: every interface string in English and French, the language
// choice (remembered in localStorage: the only thing the console keeps there), and the Intl
// formatters for money (integer minor units + ISO 4217 code) and dates (ISO 8601 UTC).
//
// Static markup carries data-i18n="key" (text) and data-i18n-aria-label="key" (attribute);
// applyTranslations() fills them.  Scripts call t(key, {param}) and set textContent, or
// say(node, key, params) (dom.js) for a message that must follow a later language change.
// French labels follow the customer help page word for word where it names them.

const STORAGE_KEY = 'helpdesk.lang';
export const LANGUAGES = ['en', 'fr'];

export const CATALOGUE = {
  en: {
    'app.title': 'HelpDesk – My account',
    'app.skip': 'Skip to content',
    'app.footer': 'HelpDesk account and billing self-service',
    'lang.label': 'Language',
    'lang.en': 'English',
    'lang.fr': 'Français',

    'menu.user': 'User menu',
    'menu.account': 'My account',
    'menu.signout': 'Sign out',

    'common.save': 'Save',
    'common.cancel': 'Cancel',
    'common.close': 'Close',
    'common.back': 'Back',
    'common.loading': 'Loading…',
    'common.none': '—',

    'field.email': 'Email address',
    'field.password': 'Password',
    'field.name': 'Name',
    'field.phone': 'Phone number',
    'field.line1': 'Address',
    'field.line2': 'Address line 2 (optional)',
    'field.city': 'City',
    'field.postalCode': 'Postal code',
    'field.state': 'State or region (optional)',
    'field.country': 'Country',
    'field.countryChoose': 'Choose a country',

    'error.required': 'This field is required.',
    'error.email': 'Enter a valid email address.',
    'error.network': 'The service cannot be reached. Check your connection and try again.',
    'error.generic': 'Something went wrong. Please try again.',
    'error.fields': 'Please correct the fields marked below.',

    'signin.title': 'Sign in to HelpDesk',
    'signin.submit': 'Sign in',
    'signin.reactivateLink': 'Reactivate my account',
    'signin.cancelledNotice': 'This account has been cancelled. You can reactivate it.',
    'signin.signedOut': 'You have been signed out.',
    'signin.expired': 'Your session has ended. Please sign in again.',
    'signin.cancelled':
      'Your account has been cancelled. You can reactivate it at any time from the sign-in page.',

    'home.welcome': 'Welcome, {name}',
    'home.intro':
      'Open "My account" from the user icon in the top right corner to see your profile, your billing information and your invoices.',
    'home.trial': 'Your free trial ends on {date}.',
    'home.trialExpired': 'Your free trial ended on {date}. Subscribe to a plan to keep using HelpDesk: your data is kept.',
    'home.subscribe': 'Choose a plan',
    'home.active': 'Your subscription is active.',
    'home.pastDue': 'A payment is pending on your account.',
    'home.reactivated': 'Welcome back! Your account has been reactivated.',

    'account.title': 'My account',
    'account.suspended':
      'Your account is suspended until the pending payments are settled. Only billing is available.',
    'account.trialExpired':
      'Your free trial has ended. Add a credit card and choose a plan below to keep using HelpDesk.',
    'account.trialExpiredGo': 'Choose a plan',

    'profile.title': 'Profile',
    'profile.personal': 'Personal information',
    'profile.currentPassword': 'Current password (needed to change your email address)',
    'profile.phoneHint':
      'As you would dial it in your country (06 12 34 56 78), or with the country code (+44 20 7946 0958). Leave empty to remove it.',
    'profile.saved': 'Your profile has been saved.',
    'profile.nothing': 'Nothing to save: change a field first.',

    'password.open': 'Change password?',
    'password.title': 'Change password',
    'password.current': 'Current password',
    'password.new': 'New password',
    'password.confirm': 'Confirm new password',
    'password.hint': '8 to 128 characters; avoid common passwords.',
    'password.mismatch': 'The new password and its confirmation do not match.',
    'password.changed': 'Your password has been changed. Your other sessions have been signed out.',

    'cancel.open': 'Cancel my account',
    'cancel.title': 'Cancel my account',
    'cancel.text':
      'Your subscription stops and you are signed out everywhere. Your invoices are kept; you can reactivate the account later.',
    'cancel.reason': 'Reason',
    'cancel.reason.none': 'Choose a reason (optional)',
    'cancel.reason.too_expensive': 'It is too expensive',
    'cancel.reason.not_using': 'I do not use it enough',
    'cancel.reason.missing_features': 'Features I need are missing',
    'cancel.reason.switching': 'I am moving to another product',
    'cancel.reason.technical_issues': 'Technical problems',
    'cancel.reason.other': 'Another reason',
    'cancel.comment': 'Comment (optional)',
    'cancel.submit': 'Cancel my account',
    'cancel.keep': 'Keep my account',

    'billing.title': 'Billing information',
    'billing.plan': 'Plan',
    'billing.status': 'Status',
    'billing.nextRenewal': 'Next renewal',
    'billing.trialEnds': 'Free trial ends',
    'billing.trialEnded': 'Free trial ended',
    'billing.card': 'Credit card',
    'billing.address': 'Billing address',
    'billing.freeTrial': 'Free trial',
    'billing.noCard': 'No card on file',
    'billing.cardLine': '{brand} ending in {last4}, expires {month}/{year}',
    'billing.noAddress': 'No billing address yet',
    'billing.pendingText': '{total} is due on your account.',

    'status.trial': 'Trial period',
    'status.active': 'Active',
    'status.past_due': 'Payment pending',
    'status.suspended': 'Suspended',
    'status.cancelled': 'Cancelled',
    'status.reactivation_requested': 'Reactivation requested',
    'status.trial_expired': 'Free trial ended',

    'card.open': 'Edit credit card',
    'card.add': 'Add a credit card',
    'card.title': 'Edit credit card details',
    'card.current': 'Card on file: {brand} ending in {last4}',
    'card.expMonth': 'Expiry month',
    'card.expYear': 'Expiry year',
    'card.name': 'Name on card',
    'card.newOpen': 'Update new card',
    'card.newTitle': 'New card',
    'card.details': 'Card number, expiry date and security code',
    'card.loadingStripe': 'Loading the secure card form…',
    'card.stripeNote':
      'Your card number goes straight to our payment provider, Stripe; HelpDesk never sees it.',
    'card.stripeUnavailable': 'The secure card form could not be loaded. Please try again later.',
    'card.error.number': 'The card number is incomplete or not valid.',
    'card.error.expiry': 'The expiry date is incomplete or not valid.',
    'card.error.expired': 'This card has expired: check the expiry date or use another card.',
    'card.error.cvc': 'The security code is incomplete or not valid.',
    'card.error.postal': 'The postal code is incomplete or not valid.',
    'card.error.declined': 'Your card was declined. Use another card or call your bank.',
    'card.error.authentication': 'Your bank could not confirm it is you. Try again or use another card.',
    'card.error.invalid':
      'The card details were not accepted. Check the card number, the expiry date and the security code.',
    'card.saved': 'Your card details have been saved.',
    'card.newSaved': 'Your new card has been saved. It will be charged from now on.',
    'card.nothing': 'Nothing to save: change a field first.',
    'cards.title': 'Saved cards',
    'cards.hint':
      'Renewals are charged to the default card. A new card becomes the default; the card it replaces stays saved here until you remove it.',
    'cards.default': 'Default',
    'cards.expired': 'Expired',
    'cards.makeDefault': 'Make default',
    'cards.makeDefaultLabel': 'Make default: {brand} ending in {last4}',
    'cards.remove': 'Remove',
    'cards.removeLabel': 'Remove: {brand} ending in {last4}',
    'cards.removed': '{brand} ending in {last4} was removed.',
    'cards.defaultSet': '{brand} ending in {last4} is now the default card.',
    'card.field.number': 'Card number',
    'card.field.exp_month': 'Expiry month (MM)',
    'card.field.exp_year': 'Expiry year (YY)',
    'card.field.cvc': 'Security code (CVC)',
    'card.field.postal_code': 'Postal code',

    'address.open': 'Edit billing address',
    'address.title': 'Billing address',
    'address.name': 'Name or company',
    'address.saved': 'Your billing address has been saved.',

    'vat.label': 'VAT ID',
    'vat.update': 'Update',
    'vat.remove': 'Remove',
    'vat.hint': 'Your VAT ID will be validated by HelpDesk.',
    'vat.state.pending': 'Validation in progress.',
    'vat.state.valid': 'Validated.',
    'vat.state.invalid': 'Not valid: check the number and its country prefix.',
    'vat.saved': 'Your VAT ID has been saved.',
    'vat.removed': 'Your VAT ID has been removed.',
    'vat.vendorNumber': 'HelpDesk\u2019s VAT number: {number}.',
    'vat.vendorContact': 'For anything about HelpDesk\u2019s VAT number, write to {email}.',

    'subscribe.title': 'Choose a plan',
    'subscribe.legend': 'Plans',
    'subscribe.submit': 'Subscribe',
    'subscribe.trial': 'Your free trial ends on {date}. Subscribe to keep using HelpDesk.',
    'subscribe.needCard': 'Add a credit card first, then choose a plan.',
    'subscribe.expired': 'Your free trial ended on {date}. Your first period starts the day you subscribe.',
    'subscribe.done': 'Thank you! Your subscription is active.',
    'plan.month': '{amount} per month',
    'plan.vatIncluded': 'VAT included: {net} + {rate}% VAT ({tax})',
    'plan.noVat': 'No VAT: {net}',
    'plan.reverseCharge': '{net} excl. VAT (reverse charge: you account for the VAT)',
    'subscribe.total': 'You will be charged {amount} now.',
    'subscribe.totalSeats': 'You will be charged {amount} now for {seats}.',
    'subscribe.seats': 'Agent seats',
    'subscribe.seatsHint': 'Per-seat plans are charged for each agent seat. You can add or remove seats later.',
    'subscribe.consent': 'I ask for the service to start at once and I acknowledge that I thereby lose my 14-day right of withdrawal.',
    'subscribe.consentRequired': 'Tick this box to start now (or wait: nothing is charged until you subscribe).',
    'creditNotes.title': 'Credit notes',
    'creditNotes.intro': 'A credit note cancels all or part of an invoice, for example when money is refunded to your card.',
    'creditNotes.number': 'Credit note',
    'creditNotes.date': 'Date',
    'creditNotes.invoice': 'Invoice',
    'creditNotes.total': 'Total',
    'creditNotes.refund': 'Refund',
    'creditNotes.more': 'Show older credit notes',
    'creditNote.refund.pending': 'Refund in progress',
    'creditNote.refund.succeeded': 'Refunded to your card',
    'creditNote.refund.failed': 'Refund failed: contact us',
    'creditNote.reason.first_payment_failed': 'First payment failed',
    'creditNote.reason.account_cancelled': 'Account cancelled',
    'creditNote.reason.period_replaced': 'Period not served',
    'creditNote.reason.refund': 'Refund',
    'creditNote.reason.refunded_at_stripe': 'Refund',
    'invoice.status.credited': 'Credited',
    'invoice.status.disputed': 'Disputed',
    'plan.year': '{amount} per year',

    'invoices.title': 'Invoices',
    'invoices.empty': 'No invoices yet.',
    'invoices.number': 'Invoice',
    'invoices.date': 'Date',
    'invoices.total': 'Total',
    'invoices.status': 'Status',
    'invoices.actions': 'Actions',
    'invoices.view': 'View',
    'invoices.print': 'Print',
    'invoices.pdf': 'Download PDF',
    'invoices.pdfShort': 'PDF',
    'invoices.more': 'Show older invoices',
    'invoices.printing': 'The print view of invoice {number} is open in the print dialog.',
    'invoices.downloaded': 'Invoice {number} has been downloaded as a PDF.',
    'invoice.status.paid': 'Paid',
    'invoice.status.open': 'Awaiting payment',
    'invoice.status.void': 'Void',

    'invoice.title': 'Invoice {number}',
    'invoice.issued': 'Issued',
    'invoice.period': 'Period',
    'invoice.seller': 'Seller',
    'invoice.customer': 'Customer',
    'invoice.vatId': 'VAT ID {id}',
    'invoice.description': 'Description',
    'invoice.quantity': 'Qty',
    'invoice.unitAmount': 'Unit price',
    'invoice.amount': 'Amount',
    'invoice.subtotal': 'Subtotal',
    'invoice.tax': 'VAT ({rate} %)',
    'invoice.total': 'Total',
    'invoice.transactions': 'Transaction summary',
    'invoice.noTransactions': 'No payment attempt yet.',
    'invoice.tx.succeeded': 'Paid',
    'invoice.tx.failed': 'Declined',
    'invoice.tx.requires_action': 'Authentication required',
    'invoice.tx.unknown': 'Being checked',
    'invoice.tx.card': '{brand} ending in {last4}',

    'pending.title': 'Payment pending',
    'pending.text':
      'We could not collect a payment for your HelpDesk account. Check your card or use another one, then apply the pending charges.',
    'pending.item': '{amount} due since {date}',
    'pending.attempts': 'Attempts so far: {count}.',
    'pending.nextRetry': 'Next automatic attempt: {date}.',
    'pending.total': 'Total due',
    'pending.updateCard': 'Update card information',
    'pending.apply': 'Apply pending charges',
    'pending.later': 'Later',
    'pending.paid': 'Thank you! The pending charges have been paid.',
    'pending.authenticated': 'Your bank confirmed the payment. It will show on your account in a moment.',
    'pending.authFailed': 'The payment was not authenticated. Try again or use another card.',
    'pending.stillDue': 'Your new card is saved, but the pending charges could not be collected with it yet.',

    'reactivate.title': 'Reactivate your account',
    'reactivate.intro': 'Your HelpDesk account has been cancelled. Enter your password to bring it back.',
    'reactivate.submitTrial': 'Reactivate and sign in',
    'reactivate.submitPaid': 'Send request',
    'reactivate.hintTrial': 'Your account is reactivated and you are signed in at once.',
    'reactivate.hintPaid':
      'Our support team receives your request and contacts you to reactivate your account.',
    'reactivate.doneTitle': 'Request sent',
    'reactivate.doneText': 'Thank you. Our support team will contact you about reactivating your account.',
    'reactivate.backToSignin': 'Back to sign-in',
    'reactivate.submit': 'Continue',
    'reactivate.hintUnknown': 'A free trial is reactivated at once and you are signed in; for a paid subscription, our support team receives your request and contacts you.',
    'reactivate.pendingTitle': 'Request pending',
    'reactivate.pendingText': 'Your request to reactivate the account is with our support team: they will contact you. There is nothing else to do.',

    // --- account security (security.js) ---
    'signin.forgot': 'Forgot your password?',
    'signin.noAccount': 'New to HelpDesk?',
    'signin.signupLink': 'Create an account',
    'signup.title': 'Create your HelpDesk account',
    'signup.intro': 'Try HelpDesk free for 14 days. No credit card needed.',
    'signup.submit': 'Create my account',
    'signup.haveAccount': 'Already have an account?',
    'signup.signinLink': 'Sign in',
    'signup.passwordPolicy': '{min} to {max} characters; avoid common passwords.',
    'signup.passwordShort': '{left} more characters needed ({min} at least).',
    'signup.passwordLong': 'Too long: {max} characters at most.',
    'signup.passwordOk': 'Long enough. Avoid common passwords.',
    'signup.welcome': 'Welcome to HelpDesk! We mailed you a link to confirm your email address.',
    'forgot.title': 'Forgot your password?',
    'forgot.intro': 'Enter the email address of your account: we will mail you a link to choose a new password.',
    'forgot.submit': 'Send the link',
    'forgot.done': 'If an account uses this address, a link to choose a new password is on its way. It works once, for one hour.',
    'reset.title': 'Choose a new password',
    'reset.note': 'Every session of your account will be signed out.',
    'reset.submit': 'Change my password',
    'reset.newLink': 'Ask for a new link',
    'reset.done': 'Your password was changed and every session signed out. Sign in with the new password.',
    'verify.title': 'Email address',
    'verify.continue': 'Continue',
    'verify.done': 'Thank you: {email} is confirmed.',
    'verify.resend': 'Send the link again',
    'verify.resent': 'A new confirmation link is on its way.',
    'verify.banner': 'Confirm your email address: open the link we mailed to {email}.',
    'notme.title': 'This was not me',
    'notme.intro': 'Cancel the change of your email address: your account keeps (or gets back) this address, every session is signed out, and we mail you a link to choose a new password.',
    'notme.submit': 'Cancel the change and sign out everywhere',
    'notme.done': 'Done: the change is cancelled and every session is signed out. Check your mailbox for the link to choose a new password.',
    'profile.pendingEmail': 'Waiting for confirmation: {email} becomes your address once you open the link we mailed there.',
    'sessions.title': 'Sessions',
    'sessions.tableLabel': 'Your sessions, as a table',
    'sessions.browser': 'Browser',
    'sessions.created': 'Signed in',
    'sessions.lastSeen': 'Last seen',
    'sessions.endOthers': 'Sign out all other sessions',
    'sessions.unknownBrowser': 'Unknown browser',
    'sessions.current': 'This session',
    'sessions.end': 'Sign out',
    'sessions.endLabel': 'Sign out the session in {browser}',
    'sessions.ended': 'The session was signed out.',
    'sessions.endedOthers': 'Every other session was signed out.',
    'activity.title': 'Activity',
    'activity.intro': 'Sign-ins and changes to your account, newest first.',
    'activity.more': 'Show older activity',
    'mfa.title': 'Two-factor sign-in',
    'mfa.turnOn': 'Turn on two-factor sign-in',
    'mfa.turnOff': 'Turn off two-factor sign-in',
    'mfa.stateOn': 'On: sign-in asks for a code of your authenticator app after the password.',
    'mfa.stateOff': 'Off: sign-in asks for your password only.',
    'mfa.codeLabel': 'Code from your authenticator app (or a recovery code)',
    'mfa.startText': 'You will need an authenticator app (for example FreeOTP, Aegis or Google Authenticator). Enter your password to start.',
    'mfa.continue': 'Continue',
    'mfa.scanText': 'Scan this QR code with your authenticator app, or type the key below, then enter the 6-digit code it shows.',
    'mfa.qrAlt': 'QR code to scan with your authenticator app',
    'mfa.key': 'Key:',
    'mfa.code': '6-digit code',
    'mfa.confirm': 'Turn on',
    'mfa.codesText': 'Two-factor sign-in is on. Keep these recovery codes somewhere safe: each one signs you in once if you lose your phone. They are shown only now.',
    'mfa.done': 'I have saved them',
    'mfa.turnOffSubmit': 'Turn off',
    'mfa.enabled': 'Two-factor sign-in is on.',
    'mfa.disabled': 'Two-factor sign-in is off.',
    'mfa.required': 'Enter the code of your authenticator app to finish signing in.',
    'change.title': 'Change plan',
    'change.plan': 'Plan',
    'change.seats': 'Agent seats',
    'change.seatsHint': 'More seats or a dearer plan: charged now for the rest of the period. Fewer seats or a cheaper plan: from the next renewal, nothing refunded.',
    'change.seatsInvalid': 'Enter a whole number of seats from 1 to 10,000.',
    'change.preview': 'Preview the change',
    'change.lines': 'Charged now',
    'change.line': 'Line',
    'change.amount': 'Amount',
    'change.tax': 'VAT',
    'change.totalNow': 'Total charged now',
    'change.confirm': 'Confirm',
    'change.now': '{plan}, {seats}: {total} charged now with your card, for the rest of the current period.',
    'change.later': '{plan}, {seats}: from your next renewal on {date}. Nothing is charged or refunded now.',
    'change.none': 'This is already your plan and number of seats.',
    'change.next': 'Next renewal on {date}: {total}.',
    'change.seatOne': '1 seat',
    'change.seatMany': '{count} seats',
    'change.scheduled': 'Scheduled: {plan}, {seats} from your renewal on {date}.',
    'change.undo': 'Cancel this change',
    'change.undone': 'The scheduled change is cancelled: your plan stays as it is.',
    'change.doneNow': 'Your plan is changed. The invoice is in your invoices.',
    'change.doneLater': 'The change is scheduled for your next renewal.',
    'resume.text': 'Your subscription ends on {date}: you keep access until then, nothing is refunded.',
    'resume.submit': 'Resume my subscription',
    'resume.done': 'Your subscription continues: it renews as before.',
    'cancel.when': 'When',
    'cancel.atEnd': 'At the end of the paid period ({date})',
    'cancel.atNow': 'Now',
    'cancel.atEndText': 'You keep access until {date}. Nothing more is charged and nothing is refunded; you can resume the subscription until then.',
    'cancel.atNowText': 'Access ends now and you are signed out everywhere. Nothing already paid is refunded.',
    'cancel.textAtEnd': 'Your subscription stops at the end of the period you paid for. Your invoices are kept.',
    'cancel.scheduledDone': 'Your subscription ends on {date}. You can resume it until then under Billing information.',
  },

  fr: {
    'app.title': 'HelpDesk – Mon compte',
    'app.skip': 'Aller au contenu',
    'app.footer': 'Gestion du compte et de la facturation HelpDesk',
    'lang.label': 'Langue',
    'lang.en': 'English',
    'lang.fr': 'Français',

    'menu.user': 'Menu utilisateur',
    'menu.account': 'Mon compte',
    'menu.signout': 'Se déconnecter',

    'common.save': 'Enregistrer',
    'common.cancel': 'Annuler',
    'common.close': 'Fermer',
    'common.back': 'Retour',
    'common.loading': 'Chargement…',
    'common.none': '—',

    'field.email': 'Adresse électronique',
    'field.password': 'Mot de passe',
    'field.name': 'Nom',
    'field.phone': 'Numéro de téléphone',
    'field.line1': 'Adresse',
    'field.line2': 'Complément d\u2019adresse (facultatif)',
    'field.city': 'Ville',
    'field.postalCode': 'Code postal',
    'field.state': 'État ou région (facultatif)',
    'field.country': 'Pays',
    'field.countryChoose': 'Choisissez un pays',

    'error.required': 'Ce champ est obligatoire.',
    'error.email': 'Saisissez une adresse électronique valide.',
    'error.network': 'Le service est injoignable. Vérifiez votre connexion et réessayez.',
    'error.generic': 'Une erreur s\u2019est produite. Veuillez réessayer.',
    'error.fields': 'Veuillez corriger les champs signalés ci-dessous.',

    'signin.title': 'Connectez-vous à HelpDesk',
    'signin.submit': 'Se connecter',
    'signin.reactivateLink': 'Réactiver mon compte',
    'signin.cancelledNotice': 'Ce compte a été annulé. Vous pouvez le réactiver.',
    'signin.signedOut': 'Vous êtes déconnecté.',
    'signin.expired': 'Votre session a pris fin. Veuillez vous reconnecter.',
    'signin.cancelled':
      'Votre compte a été annulé. Vous pouvez le réactiver à tout moment depuis la page de connexion.',

    'home.welcome': 'Bienvenue, {name}',
    'home.intro':
      'Cliquez sur l\u2019icône utilisateur dans le coin supérieur droit puis sur « Mon compte » pour consulter votre profil, vos informations de facturation et vos factures.',
    'home.trial': 'Votre essai gratuit se termine le {date}.',
    'home.trialExpired':
      'Votre essai gratuit s\u2019est terminé le {date}. Souscrivez une formule pour continuer à utiliser HelpDesk : vos données sont conservées.',
    'home.subscribe': 'Choisir une formule',
    'home.active': 'Votre abonnement est actif.',
    'home.pastDue': 'Un paiement est en attente sur votre compte.',
    'home.reactivated': 'Bon retour parmi nous ! Votre compte a été réactivé.',

    'account.title': 'Mon compte',
    'account.suspended':
      'Votre compte est suspendu jusqu\u2019au règlement des paiements en attente. Seule la facturation est disponible.',
    'account.trialExpired':
      'Votre essai gratuit est terminé. Ajoutez une carte de crédit et choisissez une formule ci-dessous pour continuer à utiliser HelpDesk.',
    'account.trialExpiredGo': 'Choisir une formule',

    'profile.title': 'Profil',
    'profile.personal': 'Informations personnelles',
    'profile.currentPassword': 'Mot de passe actuel (nécessaire pour changer d\u2019adresse électronique)',
    'profile.phoneHint':
      'Comme vous le composez dans votre pays (06 12 34 56 78), ou avec l\u2019indicatif (+44 20 7946 0958). Laissez vide pour le supprimer.',
    'profile.saved': 'Votre profil a été enregistré.',
    'profile.nothing': 'Rien à enregistrer : modifiez d\u2019abord un champ.',

    'password.open': 'Changer le mot de passe ?',
    'password.title': 'Changer le mot de passe',
    'password.current': 'Mot de passe actuel',
    'password.new': 'Nouveau mot de passe',
    'password.confirm': 'Confirmez le nouveau mot de passe',
    'password.hint': 'De 8 à 128 caractères ; évitez les mots de passe courants.',
    'password.mismatch': 'Le nouveau mot de passe et sa confirmation ne correspondent pas.',
    'password.changed': 'Votre mot de passe a été changé. Vos autres sessions ont été déconnectées.',

    'cancel.open': 'Annuler mon compte',
    'cancel.title': 'Annuler mon compte',
    'cancel.text':
      'Votre abonnement s\u2019arrête et vous êtes déconnecté partout. Vos factures sont conservées ; vous pourrez réactiver le compte plus tard.',
    'cancel.reason': 'Motif',
    'cancel.reason.none': 'Choisissez un motif (facultatif)',
    'cancel.reason.too_expensive': 'C\u2019est trop cher',
    'cancel.reason.not_using': 'Je ne l\u2019utilise pas assez',
    'cancel.reason.missing_features': 'Il manque des fonctions dont j\u2019ai besoin',
    'cancel.reason.switching': 'Je passe à un autre produit',
    'cancel.reason.technical_issues': 'Problèmes techniques',
    'cancel.reason.other': 'Autre motif',
    'cancel.comment': 'Commentaire (facultatif)',
    'cancel.submit': 'Annuler mon compte',
    'cancel.keep': 'Garder mon compte',

    'billing.title': 'Informations de facturation',
    'billing.plan': 'Formule',
    'billing.status': 'Statut',
    'billing.nextRenewal': 'Prochain renouvellement',
    'billing.trialEnds': 'Fin de l\u2019essai gratuit',
    'billing.trialEnded': 'Essai gratuit terminé le',
    'billing.card': 'Carte de crédit',
    'billing.address': 'Adresse de facturation',
    'billing.freeTrial': 'Essai gratuit',
    'billing.noCard': 'Aucune carte enregistrée',
    'billing.cardLine': '{brand} se terminant par {last4}, expire {month}/{year}',
    'billing.noAddress': 'Aucune adresse de facturation pour l\u2019instant',
    'billing.pendingText': '{total} reste dû sur votre compte.',

    'status.trial': 'Période d\u2019essai',
    'status.active': 'Actif',
    'status.past_due': 'Paiement en attente',
    'status.suspended': 'Suspendu',
    'status.cancelled': 'Annulé',
    'status.reactivation_requested': 'Réactivation demandée',
    'status.trial_expired': 'Essai gratuit terminé',

    'card.open': 'Modifier la carte de crédit',
    'card.add': 'Ajouter une carte de crédit',
    'card.title': 'Modifier les données de la carte de crédit',
    'card.current': 'Carte enregistrée : {brand} se terminant par {last4}',
    'card.expMonth': 'Mois d\u2019expiration',
    'card.expYear': 'Année d\u2019expiration',
    'card.name': 'Nom sur la carte',
    'card.newOpen': 'Mettre à jour la nouvelle carte',
    'card.newTitle': 'Nouvelle carte',
    'card.details': 'Numéro de carte, date d\u2019expiration et cryptogramme',
    'card.loadingStripe': 'Chargement du formulaire de carte sécurisé…',
    'card.stripeNote':
      'Le numéro de votre carte est transmis directement à notre prestataire de paiement, Stripe ; HelpDesk ne le voit jamais.',
    'card.stripeUnavailable':
      'Le formulaire de carte sécurisé n\u2019a pas pu être chargé. Veuillez réessayer plus tard.',
    'card.error.number': 'Le numéro de carte est incomplet ou invalide.',
    'card.error.expiry': 'La date d\u2019expiration est incomplète ou invalide.',
    'card.error.expired': 'Cette carte a expiré : vérifiez la date d\u2019expiration ou utilisez une autre carte.',
    'card.error.cvc': 'Le cryptogramme est incomplet ou invalide.',
    'card.error.postal': 'Le code postal est incomplet ou invalide.',
    'card.error.declined': 'Votre carte a été refusée. Utilisez une autre carte ou appelez votre banque.',
    'card.error.authentication':
      'Votre banque n\u2019a pas pu confirmer votre identité. Réessayez ou utilisez une autre carte.',
    'card.error.invalid':
      'Les données de la carte n\u2019ont pas été acceptées. Vérifiez le numéro, la date d\u2019expiration et le cryptogramme.',
    'card.saved': 'Les données de votre carte ont été enregistrées.',
    'card.newSaved': 'Votre nouvelle carte a été enregistrée. C\u2019est elle qui sera débitée désormais.',
    'card.nothing': 'Rien à enregistrer : modifiez d\u2019abord un champ.',
    'cards.title': 'Cartes enregistrées',
    'cards.hint':
      'Les renouvellements sont débités sur la carte par défaut. Une nouvelle carte devient la carte par défaut\u00a0; celle qu\u2019elle remplace reste enregistrée ici jusqu\u2019à ce que vous la supprimiez.',
    'cards.default': 'Par défaut',
    'cards.expired': 'Expirée',
    'cards.makeDefault': 'Définir par défaut',
    'cards.makeDefaultLabel': 'Définir par défaut\u00a0: {brand} se terminant par {last4}',
    'cards.remove': 'Supprimer',
    'cards.removeLabel': 'Supprimer\u00a0: {brand} se terminant par {last4}',
    'cards.removed': '{brand} se terminant par {last4} a été supprimée.',
    'cards.defaultSet': '{brand} se terminant par {last4} est désormais la carte par défaut.',
    'card.field.number': 'Numéro de carte',
    'card.field.exp_month': 'Mois d\u2019expiration (MM)',
    'card.field.exp_year': 'Année d\u2019expiration (AA)',
    'card.field.cvc': 'Cryptogramme (CVC)',
    'card.field.postal_code': 'Code postal',

    'address.open': 'Modifier l\u2019adresse de facturation',
    'address.title': 'Adresse de facturation',
    'address.name': 'Nom ou société',
    'address.saved': 'Votre adresse de facturation a été enregistrée.',

    'vat.label': 'Numéro de TVA',
    'vat.update': 'Mise à jour',
    'vat.remove': 'Supprimer',
    'vat.hint': 'Le numéro de TVA enregistré sur votre compte sera validé par HelpDesk.',
    'vat.state.pending': 'Validation en cours.',
    'vat.state.valid': 'Validé.',
    'vat.state.invalid': 'Non valide : vérifiez le numéro et son préfixe de pays.',
    'vat.saved': 'Votre numéro de TVA a été enregistré.',
    'vat.removed': 'Votre numéro de TVA a été supprimé.',
    'vat.vendorNumber': 'Numéro de TVA de HelpDesk : {number}.',
    'vat.vendorContact':
      'Pour toute information sur le numéro de TVA de HelpDesk, contactez-nous par e-mail à l\u2019adresse {email}.',

    'subscribe.title': 'Choisissez une formule',
    'subscribe.legend': 'Formules',
    'subscribe.submit': 'S\u2019abonner',
    'subscribe.trial':
      'Votre essai gratuit se termine le {date}. Abonnez-vous pour continuer à utiliser HelpDesk.',
    'subscribe.needCard': 'Ajoutez d\u2019abord une carte de crédit, puis choisissez une formule.',
    'subscribe.expired':
      'Votre essai gratuit s\u2019est terminé le {date}. Votre première période commence le jour de votre souscription.',
    'subscribe.done': 'Merci ! Votre abonnement est actif.',
    'plan.month': '{amount} par mois',
    'plan.vatIncluded': 'TTC\u202f: {net} HT + TVA {rate}\u202f% ({tax})',
    'plan.noVat': 'Sans TVA\u202f: {net}',
    'plan.reverseCharge': '{net} HT (autoliquidation\u202f: la TVA est due par vous)',
    'subscribe.total': 'Montant débité maintenant\u202f: {amount}.',
    'subscribe.totalSeats': 'Montant débité maintenant pour {seats}\u202f: {amount}.',
    'subscribe.seats': 'Sièges d’agent',
    'subscribe.seatsHint': 'Les formules par siège sont facturées pour chaque siège d’agent. Vous pourrez ajouter ou retirer des sièges ensuite.',
    'subscribe.consent': 'Je demande que le service commence immédiatement et je reconnais perdre ainsi mon droit de rétractation de 14 jours.',
    'subscribe.consentRequired': 'Cochez cette case pour commencer maintenant (rien n\u2019est débité tant que vous ne vous abonnez pas).',
    'creditNotes.title': 'Avoirs',
    'creditNotes.intro': 'Un avoir annule tout ou partie d\u2019une facture, par exemple lorsqu\u2019un montant est remboursé sur votre carte.',
    'creditNotes.number': 'Avoir',
    'creditNotes.date': 'Date',
    'creditNotes.invoice': 'Facture',
    'creditNotes.total': 'Total',
    'creditNotes.refund': 'Remboursement',
    'creditNotes.more': 'Afficher les avoirs plus anciens',
    'creditNote.refund.pending': 'Remboursement en cours',
    'creditNote.refund.succeeded': 'Remboursé sur votre carte',
    'creditNote.refund.failed': 'Échec du remboursement\u202f: contactez-nous',
    'creditNote.reason.first_payment_failed': 'Échec du premier paiement',
    'creditNote.reason.account_cancelled': 'Compte résilié',
    'creditNote.reason.period_replaced': 'Période non fournie',
    'creditNote.reason.refund': 'Remboursement',
    'creditNote.reason.refunded_at_stripe': 'Remboursement',
    'invoice.status.credited': 'Avoir émis',
    'invoice.status.disputed': 'Contestée',
    'plan.year': '{amount} par an',

    'invoices.title': 'Factures',
    'invoices.empty': 'Aucune facture pour l\u2019instant.',
    'invoices.number': 'Facture',
    'invoices.date': 'Date',
    'invoices.total': 'Total',
    'invoices.status': 'Statut',
    'invoices.actions': 'Actions',
    'invoices.view': 'Afficher',
    'invoices.print': 'Imprimer',
    'invoices.pdf': 'Télécharger le PDF',
    'invoices.pdfShort': 'PDF',
    'invoices.more': 'Afficher les factures plus anciennes',
    'invoices.printing':
      'La vue d\u2019impression de la facture {number} est ouverte dans la fenêtre d\u2019impression.',
    'invoices.downloaded': 'La facture {number} a été téléchargée en PDF.',
    'invoice.status.paid': 'Payée',
    'invoice.status.open': 'En attente de paiement',
    'invoice.status.void': 'Annulée',

    'invoice.title': 'Facture {number}',
    'invoice.issued': 'Date d\u2019émission',
    'invoice.period': 'Période',
    'invoice.seller': 'Vendeur',
    'invoice.customer': 'Client',
    'invoice.vatId': 'N° de TVA {id}',
    'invoice.description': 'Description',
    'invoice.quantity': 'Qté',
    'invoice.unitAmount': 'Prix unitaire',
    'invoice.amount': 'Montant',
    'invoice.subtotal': 'Sous-total',
    'invoice.tax': 'TVA ({rate} %)',
    'invoice.total': 'Total',
    'invoice.transactions': 'Résumé des transactions',
    'invoice.noTransactions': 'Aucune tentative de paiement pour l\u2019instant.',
    'invoice.tx.succeeded': 'Payé',
    'invoice.tx.failed': 'Refusé',
    'invoice.tx.requires_action': 'Authentification requise',
    'invoice.tx.unknown': 'En cours de vérification',
    'invoice.tx.card': '{brand} se terminant par {last4}',

    'pending.title': 'Paiement en attente',
    'pending.text':
      'Nous n\u2019avons pas pu encaisser un paiement pour votre compte HelpDesk. Vérifiez votre carte ou utilisez-en une autre, puis appliquez les frais en attente.',
    'pending.item': '{amount} dû depuis le {date}',
    'pending.attempts': 'Tentatives jusqu\u2019ici : {count}.',
    'pending.nextRetry': 'Prochaine tentative automatique : {date}.',
    'pending.total': 'Total dû',
    'pending.updateCard': 'Mettre à jour les informations de la carte',
    'pending.apply': 'Appliquer les frais en attente',
    'pending.later': 'Plus tard',
    'pending.paid': 'Merci ! Les frais en attente ont été payés.',
    'pending.authenticated':
      'Votre banque a confirmé le paiement. Il apparaîtra sur votre compte dans un instant.',
    'pending.authFailed': 'Le paiement n\u2019a pas été authentifié. Réessayez ou utilisez une autre carte.',
    'pending.stillDue':
      'Votre nouvelle carte est enregistrée, mais les frais en attente n\u2019ont pas encore pu être encaissés avec elle.',

    'reactivate.title': 'Réactiver votre compte',
    'reactivate.intro': 'Votre compte HelpDesk a été annulé. Saisissez votre mot de passe pour le réactiver.',
    'reactivate.submitTrial': 'Réactiver et se connecter',
    'reactivate.submitPaid': 'Envoyer la demande',
    'reactivate.hintTrial': 'Votre compte est réactivé et vous êtes connecté automatiquement.',
    'reactivate.hintPaid':
      'Notre équipe d\u2019assistance reçoit votre demande et vous contactera pour la procédure de réactivation.',
    'reactivate.doneTitle': 'Demande envoyée',
    'reactivate.doneText':
      'Merci. Notre équipe d\u2019assistance vous contactera pour la procédure de réactivation.',
    'reactivate.backToSignin': 'Retour à la connexion',
    'reactivate.submit': 'Continuer',
    'reactivate.hintUnknown': 'Un essai gratuit est réactivé aussitôt et vous êtes connecté ; pour un abonnement payant, notre équipe d’assistance reçoit votre demande et vous contacte.',
    'reactivate.pendingTitle': 'Demande en cours',
    'reactivate.pendingText': 'Votre demande de réactivation est entre les mains de notre équipe d’assistance : elle vous contactera. Vous n’avez rien d’autre à faire.',

    // --- account security (security.js) ---
    'signin.forgot': 'Mot de passe oublié ?',
    'signin.noAccount': 'Nouveau sur HelpDesk ?',
    'signin.signupLink': 'Créer un compte',
    'signup.title': 'Créez votre compte HelpDesk',
    'signup.intro': 'Essayez HelpDesk gratuitement pendant 14 jours, sans carte bancaire.',
    'signup.submit': 'Créer mon compte',
    'signup.haveAccount': 'Vous avez déjà un compte ?',
    'signup.signinLink': 'Se connecter',
    'signup.passwordPolicy': 'De {min} à {max} caractères ; évitez les mots de passe courants.',
    'signup.passwordShort': 'Encore {left} caractères ({min} au minimum).',
    'signup.passwordLong': 'Trop long : {max} caractères au maximum.',
    'signup.passwordOk': 'Longueur suffisante. Évitez les mots de passe courants.',
    'signup.welcome': 'Bienvenue sur HelpDesk ! Nous vous avons envoyé un lien pour confirmer votre adresse électronique.',
    'forgot.title': 'Mot de passe oublié ?',
    'forgot.intro': 'Saisissez l’adresse électronique de votre compte : nous vous enverrons un lien pour choisir un nouveau mot de passe.',
    'forgot.submit': 'Envoyer le lien',
    'forgot.done': 'Si un compte utilise cette adresse, un lien pour choisir un nouveau mot de passe vient de lui être envoyé. Il sert une fois, pendant une heure.',
    'reset.title': 'Choisissez un nouveau mot de passe',
    'reset.note': 'Toutes les sessions de votre compte seront déconnectées.',
    'reset.submit': 'Changer mon mot de passe',
    'reset.newLink': 'Demander un nouveau lien',
    'reset.done': 'Votre mot de passe a été modifié et toutes les sessions déconnectées. Connectez-vous avec le nouveau mot de passe.',
    'verify.title': 'Adresse électronique',
    'verify.continue': 'Continuer',
    'verify.done': 'Merci : {email} est confirmée.',
    'verify.resend': 'Renvoyer le lien',
    'verify.resent': 'Un nouveau lien de confirmation vient de vous être envoyé.',
    'verify.banner': 'Confirmez votre adresse électronique : ouvrez le lien envoyé à {email}.',
    'notme.title': 'Ce n’était pas moi',
    'notme.intro': 'Annulez le changement de votre adresse électronique : votre compte garde (ou retrouve) cette adresse, toutes les sessions sont déconnectées et nous vous envoyons un lien pour choisir un nouveau mot de passe.',
    'notme.submit': 'Annuler le changement et tout déconnecter',
    'notme.done': 'C’est fait : le changement est annulé et toutes les sessions sont déconnectées. Le lien pour choisir un nouveau mot de passe est dans votre boîte de réception.',
    'profile.pendingEmail': 'En attente de confirmation : {email} deviendra votre adresse dès que vous aurez ouvert le lien qui lui a été envoyé.',
    'sessions.title': 'Sessions',
    'sessions.tableLabel': 'Vos sessions, en tableau',
    'sessions.browser': 'Navigateur',
    'sessions.created': 'Connexion',
    'sessions.lastSeen': 'Dernière activité',
    'sessions.endOthers': 'Déconnecter toutes les autres sessions',
    'sessions.unknownBrowser': 'Navigateur inconnu',
    'sessions.current': 'Cette session',
    'sessions.end': 'Déconnecter',
    'sessions.endLabel': 'Déconnecter la session {browser}',
    'sessions.ended': 'La session a été déconnectée.',
    'sessions.endedOthers': 'Toutes les autres sessions ont été déconnectées.',
    'activity.title': 'Activité',
    'activity.intro': 'Les connexions et les modifications de votre compte, les plus récentes d’abord.',
    'activity.more': 'Afficher l’activité plus ancienne',
    'mfa.title': 'Connexion en deux étapes',
    'mfa.turnOn': 'Activer la connexion en deux étapes',
    'mfa.turnOff': 'Désactiver la connexion en deux étapes',
    'mfa.stateOn': 'Activée : après le mot de passe, la connexion demande un code de votre application d’authentification.',
    'mfa.stateOff': 'Désactivée : la connexion ne demande que votre mot de passe.',
    'mfa.codeLabel': 'Code de votre application d’authentification (ou code de secours)',
    'mfa.startText': 'Il vous faut une application d’authentification (par exemple FreeOTP, Aegis ou Google Authenticator). Saisissez votre mot de passe pour commencer.',
    'mfa.continue': 'Continuer',
    'mfa.scanText': 'Scannez ce QR code avec votre application d’authentification, ou saisissez la clé ci-dessous, puis entrez le code à 6 chiffres qu’elle affiche.',
    'mfa.qrAlt': 'QR code à scanner avec votre application d’authentification',
    'mfa.key': 'Clé :',
    'mfa.code': 'Code à 6 chiffres',
    'mfa.confirm': 'Activer',
    'mfa.codesText': 'La connexion en deux étapes est activée. Gardez ces codes de secours en lieu sûr : chacun vous connecte une fois si vous perdez votre téléphone. Ils ne sont affichés que maintenant.',
    'mfa.done': 'Je les ai enregistrés',
    'mfa.turnOffSubmit': 'Désactiver',
    'mfa.enabled': 'La connexion en deux étapes est activée.',
    'mfa.disabled': 'La connexion en deux étapes est désactivée.',
    'mfa.required': 'Saisissez le code de votre application d’authentification pour terminer la connexion.',
    'change.title': 'Changer de formule',
    'change.plan': 'Formule',
    'change.seats': 'Sièges d’agent',
    'change.seatsHint': 'Plus de sièges ou une formule plus chère : facturé maintenant pour le reste de la période. Moins de sièges ou une formule moins chère : à partir du prochain renouvellement, sans remboursement.',
    'change.seatsInvalid': 'Saisissez un nombre entier de sièges entre 1 et 10 000.',
    'change.preview': 'Voir le changement',
    'change.lines': 'Facturé maintenant',
    'change.line': 'Ligne',
    'change.amount': 'Montant',
    'change.tax': 'TVA',
    'change.totalNow': 'Total facturé maintenant',
    'change.confirm': 'Confirmer',
    'change.now': '{plan}, {seats} : {total} prélevés maintenant sur votre carte, pour le reste de la période en cours.',
    'change.later': '{plan}, {seats} : à partir de votre prochain renouvellement le {date}. Rien n’est facturé ni remboursé maintenant.',
    'change.none': 'C’est déjà votre formule et votre nombre de sièges.',
    'change.next': 'Prochain renouvellement le {date} : {total}.',
    'change.seatOne': '1 siège',
    'change.seatMany': '{count} sièges',
    'change.scheduled': 'Programmé : {plan}, {seats} à partir de votre renouvellement le {date}.',
    'change.undo': 'Annuler ce changement',
    'change.undone': 'Le changement programmé est annulé : votre formule reste la même.',
    'change.doneNow': 'Votre formule est modifiée. La facture est dans vos factures.',
    'change.doneLater': 'Le changement est programmé pour votre prochain renouvellement.',
    'resume.text': 'Votre abonnement prend fin le {date} : vous gardez l’accès jusque-là, rien n’est remboursé.',
    'resume.submit': 'Reprendre mon abonnement',
    'resume.done': 'Votre abonnement continue : il se renouvelle comme avant.',
    'cancel.when': 'Quand',
    'cancel.atEnd': 'À la fin de la période payée ({date})',
    'cancel.atNow': 'Maintenant',
    'cancel.atEndText': 'Vous gardez l’accès jusqu’au {date}. Plus rien n’est prélevé et rien n’est remboursé ; vous pouvez reprendre l’abonnement d’ici là.',
    'cancel.atNowText': 'L’accès prend fin maintenant et vous êtes déconnecté partout. Ce qui a déjà été payé n’est pas remboursé.',
    'cancel.textAtEnd': 'Votre abonnement s’arrête à la fin de la période payée. Vos factures sont conservées.',
    'cancel.scheduledDone': 'Votre abonnement prend fin le {date}. Vous pouvez le reprendre d’ici là dans Informations de facturation.',
  },
};

const INTL_LOCALES = { en: 'en-US', fr: 'fr-FR' };
const listeners = new Set();
let current = initialLanguage();

function initialLanguage() {
  let stored = null;
  try {
    stored = window.localStorage.getItem(STORAGE_KEY);
  } catch {
    stored = null; // storage disabled: fall back to the browser's language
  }
  if (LANGUAGES.includes(stored)) return stored;
  const browser = (navigator.language || 'en').slice(0, 2).toLowerCase();
  return LANGUAGES.includes(browser) ? browser : 'en';
}

export function language() {
  return current;
}

export function setLanguage(lang) {
  if (!LANGUAGES.includes(lang) || lang === current) return;
  current = lang;
  try {
    window.localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered, still applied
  }
  applyTranslations(document);
  listeners.forEach((listener) => listener(lang));
}

export function onLanguageChange(listener) {
  listeners.add(listener);
}

export function t(key, params = {}) {
  const text = CATALOGUE[current][key] ?? CATALOGUE.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

export function applyTranslations(root) {
  document.documentElement.lang = current;
  root.querySelectorAll('[data-i18n]').forEach((node) => {
    const params = node.dataset.i18nParams ? JSON.parse(node.dataset.i18nParams) : {};
    node.textContent = t(node.dataset.i18n, params);
  });
  root.querySelectorAll('[data-i18n-aria-label]').forEach((node) => {
    node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
  });
  if (root === document) document.title = t('app.title');
}

// --- formatting -------------------------------------------------------------------------------
function intlLocale() {
  return INTL_LOCALES[current];
}

/** Items with a ``name`` in the language's alphabetical order (Intl.Collator: "Égypte" and
 *  "États-Unis" come with the E's, "Île Maurice" with the I's, not after "Zimbabwe"). */
export function byName(items) {
  const collator = new Intl.Collator(intlLocale(), { sensitivity: 'base' });
  return [...items].sort((a, b) => collator.compare(a.name, b.name));
}

/** Integer minor units of an ISO 4217 currency, e.g. (1500, 'EUR') -> "€15.00" / "15,00 €". */
export function formatMoney(amount, currency) {
  if (typeof amount !== 'number' || !currency) return t('common.none');
  const format = new Intl.NumberFormat(intlLocale(), { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(amount / 10 ** digits);
}

/** A calendar date of an ISO 8601 UTC time ("November 26, 2026" / "26 novembre 2026"). */
export function formatDate(iso) {
  if (!iso) return t('common.none');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return t('common.none');
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'long', timeZone: 'UTC' }).format(date);
}

/** A moment, in the reader's time zone ("Nov 26, 2026, 10:15 AM" / "26 nov. 2026, 10:15"). */
export function formatDateTime(iso) {
  if (!iso) return t('common.none');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return t('common.none');
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}
