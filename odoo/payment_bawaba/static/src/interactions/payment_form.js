/** @odoo-module **/
// Thin glue: mounts the Bawaba widget (loaded from the edge with one module script) in Odoo's
// payment form once Odoo has created the transaction and minted its intent. All payment logic
// lives in the widget and the edge.

import { _t } from '@web/core/l10n/translation';
import { patch } from '@web/core/utils/patch';
import { PaymentForm } from '@payment/interactions/payment_form';

// Odoo payment method codes the widget goes straight to the gateway for: the shopper has chosen
// already. For `card` the widget takes the first card brand the edge offers; the gateway's page
// accepts any brand and reports the one paid with.
const DIRECT_METHODS = new Set(['mada', 'card', 'visa', 'mastercard', 'amex', 'stcpay', 'applepay']);

function loadWidget(edgeUrl) {
    const src = new URL('bawaba.js', edgeUrl.replace(/\/?$/, '/')).href;
    if (!document.querySelector(`script[data-bawaba-loader="${src}"]`)) {
        const script = document.createElement('script');
        script.type = 'module';
        script.src = src;
        script.dataset.bawabaLoader = src;
        document.head.append(script);
    }
    return customElements.whenDefined('bawaba-checkout');
}

patch(PaymentForm.prototype, {
    async _prepareInlineForm(providerId, providerCode, paymentOptionId, paymentMethodCode, flow) {
        if (providerCode !== 'bawaba') {
            return super._prepareInlineForm(...arguments);
        }
        this._setPaymentFlow('direct');
    },

    async _processDirectFlow(providerCode, paymentOptionId, paymentMethodCode, processingValues) {
        if (providerCode !== 'bawaba') {
            return super._processDirectFlow(...arguments);
        }
        const radio = document.querySelector(
            `input[name="o_payment_radio"][data-payment-option-id="${paymentOptionId}"]`
        );
        const inlineForm = this._getInlineForm(radio);
        const container = inlineForm.querySelector('[name="o_bawaba_element_container"]');
        await loadWidget(processingValues.bawaba_edge_url);
        const element = document.createElement('bawaba-checkout');
        element.setAttribute('edge', processingValues.bawaba_edge_url);
        element.setAttribute('intent', processingValues.bawaba_intent);
        if (DIRECT_METHODS.has(paymentMethodCode)) {
            element.setAttribute('method', paymentMethodCode);
            element.setAttribute('autostart', '');
        }
        element.addEventListener('bawaba:error', (event) => {
            // The widget says what went wrong in the shopper's language; the code is for support.
            this._displayErrorDialog(
                _t("Payment processing failed"),
                `${event.detail.message || ''} (${event.detail.code})`.trim()
            );
            this._enableButton();
        });
        container.replaceChildren(element);
        inlineForm.classList.remove('d-none');
    },
});
