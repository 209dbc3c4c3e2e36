/** @odoo-module **/
// Thin glue: mounts the Bawaba widget (loaded from the edge with one module script) in Odoo's
// payment form once Odoo has created the transaction and minted its intent. All payment logic
// lives in the widget and the edge. What this file adds is that the form never locks up: when the
// edge's script cannot load, or the widget does not answer in time, Odoo's own error dialog says
// so in the shopper's language and the Pay button works again.

import { browser } from '@web/core/browser/browser';
import { _t } from '@web/core/l10n/translation';
import { patch } from '@web/core/utils/patch';
import { PaymentForm } from '@payment/interactions/payment_form';

// Odoo payment method codes the widget goes straight to the gateway for: the shopper has chosen
// already. For `card` the widget takes the first card brand the edge offers; the gateway's page
// accepts any brand and reports the one paid with.
const DIRECT_METHODS = new Set(['mada', 'card', 'visa', 'mastercard', 'amex', 'stcpay', 'applepay']);

// How long the shopper waits at most, after pressing Pay, for the edge's script to load and the
// widget to give its first answer (`data-state` other than `loading`).
const WIDGET_TIMEOUT_MS = 10000;

class WidgetUnavailable extends Error {
    /** @param {'load'|'timeout'} reason */
    constructor(reason) {
        super(`Bawaba widget unavailable: ${reason}`);
        this.reason = reason;
    }
}

// The edge's loader script per edge URL: a promise that resolves once <bawaba-checkout> is
// defined. A script that failed or hangs is forgotten, so that the next Pay tries again.
const loaders = new Map();
let attempts = 0;

function loaderUrl(edgeUrl) {
    return new URL('bawaba.js', edgeUrl.replace(/\/?$/, '/')).href;
}

/**
 * Loads the widget from the edge (once per edge URL).
 *
 * @param {string} edgeUrl - The edge's base URL.
 * @return {Promise<void>} Resolves when the element is defined; rejects with a `WidgetUnavailable`
 *                         when the script cannot be fetched.
 */
function loadWidget(edgeUrl) {
    if (customElements.get('bawaba-checkout')) {
        return Promise.resolve();
    }
    const src = loaderUrl(edgeUrl);
    let loading = loaders.get(src);
    if (!loading) {
        const script = document.createElement('script');
        script.type = 'module';
        // The browser remembers a module script that failed for the page's life: trying again
        // needs another URL (the loader finds the widget relative to itself, query aside).
        script.src = attempts ? `${src}?attempt=${attempts}` : src;
        script.dataset.bawabaLoader = src;
        loading = new Promise((resolve, reject) => {
            script.addEventListener('load', () => resolve());
            script.addEventListener('error', () => {
                script.remove();
                if (loaders.get(src) === loading) {
                    forgetLoader(src);
                }
                reject(new WidgetUnavailable('load'));
            });
        }).then(() => customElements.whenDefined('bawaba-checkout'));
        loaders.set(src, loading);
        document.head.append(script);
    }
    return loading;
}

/** The next `loadWidget` for this edge fetches its script again, under a new URL. */
function forgetLoader(src) {
    loaders.delete(src);
    attempts += 1;
}

/**
 * Resolves when the widget has answered: its `data-state` is no longer `loading` (`ready`,
 * `redirecting`, or `error`, which it reports itself with a `bawaba:error` event).
 *
 * @param {HTMLElement} element - The `<bawaba-checkout>` element.
 * @return {Promise<void>}
 */
function widgetAnswered(element) {
    const answered = () => (element.dataset.state || 'loading') !== 'loading';
    return new Promise((resolve) => {
        if (answered()) {
            resolve();
            return;
        }
        const observer = new MutationObserver(() => {
            if (answered()) {
                observer.disconnect();
                resolve();
            }
        });
        observer.observe(element, { attributes: true, attributeFilter: ['data-state'] });
    });
}

/**
 * `promise`, or a rejection with `WidgetUnavailable('timeout')` after `ms` milliseconds.
 */
function withinTime(promise, ms) {
    let timer;
    const timeout = new Promise((resolve, reject) => {
        timer = browser.setTimeout(() => reject(new WidgetUnavailable('timeout')), ms);
    });
    return Promise.race([promise, timeout]).finally(() => browser.clearTimeout(timer));
}

patch(PaymentForm.prototype, {
    async _prepareInlineForm(providerId, providerCode, paymentOptionId, paymentMethodCode, flow) {
        if (providerCode !== 'bawaba') {
            return super._prepareInlineForm(...arguments);
        }
        this._setPaymentFlow('direct');
        // Start fetching the widget while the shopper reviews the form; a failure here is told
        // when they press Pay, which tries again.
        const radio = this._bawabaRadio(providerId, paymentOptionId);
        const edgeUrl = (radio && this._getInlineForm(radio))
            ?.querySelector('[name="o_bawaba_element_container"]')?.dataset.bawabaEdgeUrl;
        if (edgeUrl) {
            loadWidget(edgeUrl).catch(() => {});
        }
    },

    async _processDirectFlow(providerCode, paymentOptionId, paymentMethodCode, processingValues) {
        if (providerCode !== 'bawaba') {
            return super._processDirectFlow(...arguments);
        }
        // Odoo does not wait for this method: whatever happens here must end in the widget or
        // in a dialog with the Pay button working again, never in a blocked page.
        let element, edgeUrl;
        try {
            const radio = this._bawabaRadio(this.paymentContext.providerId, paymentOptionId);
            const inlineForm = radio && this._getInlineForm(radio);
            const container = inlineForm?.querySelector('[name="o_bawaba_element_container"]');
            if (!container) {
                throw new Error(`no Bawaba inline form for payment option ${paymentOptionId}`);
            }
            edgeUrl = processingValues.bawaba_edge_url;
            element = document.createElement('bawaba-checkout');
            element.setAttribute('edge', edgeUrl);
            element.setAttribute('intent', processingValues.bawaba_intent);
            if (DIRECT_METHODS.has(paymentMethodCode)) {
                element.setAttribute('method', paymentMethodCode);
                element.setAttribute('autostart', '');
            }
            element.addEventListener('bawaba:error', (event) => {
                // The widget says what went wrong in the shopper's language; the code is for
                // support.
                this._displayErrorDialog(
                    _t("Payment processing failed"),
                    `${event.detail.message || ''} (${event.detail.code})`.trim()
                );
                this._enableButton();
            });
            await this.waitFor(withinTime(
                loadWidget(edgeUrl).then(() => {
                    container.replaceChildren(element);
                    inlineForm.classList.remove('d-none');
                    return widgetAnswered(element);
                }),
                WIDGET_TIMEOUT_MS
            ));
            if (element.dataset.state === 'ready') {
                // The widget asks the shopper to choose (the method they chose in Odoo's form is
                // not offered): let them use it. Odoo's Pay button stays off; the widget's pays.
                this.env.bus.trigger('ui', 'unblock');
            }
        } catch (error) {
            element?.remove();
            if (error instanceof WidgetUnavailable && error.reason === 'timeout' && edgeUrl) {
                forgetLoader(loaderUrl(edgeUrl)); // A script that hangs: the next Pay asks anew.
            }
            this._bawabaUnavailable(error);
        }
    },

    /**
     * The radio of a Bawaba payment method in this payment form. Looked up by its provider too:
     * a saved payment method (token) of another provider may carry the same option id.
     *
     * @private
     * @param {number} providerId - The id of the Bawaba provider.
     * @param {number} paymentOptionId - The id of the payment method.
     * @return {HTMLInputElement|null}
     */
    _bawabaRadio(providerId, paymentOptionId) {
        return this.el.querySelector(
            'input[name="o_payment_radio"][data-payment-option-type="payment_method"]'
            + '[data-provider-code="bawaba"]'
            + `[data-provider-id="${Number(providerId)}"]`
            + `[data-payment-option-id="${Number(paymentOptionId)}"]`
        );
    },

    /**
     * Tell the shopper that the payment form could not be shown, and give the Pay button back.
     *
     * @private
     * @param {Error} error - Why.
     */
    _bawabaUnavailable(error) {
        let message;
        if (error instanceof WidgetUnavailable && error.reason === 'timeout') {
            message = _t("The secure payment form is taking too long to load. Please try again, or choose another payment method.");
        } else if (error instanceof WidgetUnavailable) {
            message = _t("The secure payment form could not be loaded. Please check your internet connection and try again, or choose another payment method.");
        } else {
            console.error(error);
            message = _t("The secure payment form could not be shown. Please reload the page and try again.");
        }
        this._displayErrorDialog(_t("Payment processing failed"), message);
        this._enableButton();
    },
});
