# Part of Bawaba. See LICENSE file for full copyright and licensing details.
{
    'name': "Payment Provider: Bawaba",
    'version': '19.0.1.4.0',
    'category': 'Accounting/Payment Providers',
    'sequence': 350,
    'summary': "mada, Visa, Mastercard, Apple Pay, STC Pay and PayPal through the Bawaba edge "
               "(Amazon Payment Services, Moyasar, Tap, PayPal).",
    'description': " ",  # Non-empty string to avoid loading the README file.
    # account_payment: the payment's Refund button and refund wizard, which the addon opens to mada
    # and STC Pay (sale and website_sale depend on it too).
    'depends': ['payment', 'account_payment'],
    'data': [
        'views/payment_bawaba_templates.xml',
        'views/payment_provider_views.xml',
        'views/payment_transaction_views.xml',
        'data/payment_method_data.xml',
        'data/payment_provider_data.xml',
    ],
    'assets': {
        'web.assets_frontend': ['payment_bawaba/static/src/interactions/payment_form.js'],
    },
    'post_init_hook': 'post_init_hook',
    'uninstall_hook': 'uninstall_hook',
    'author': "Bawaba",
    'license': 'LGPL-3',
}
