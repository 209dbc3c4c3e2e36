// Bawaba loader: defines <bawaba-checkout> and boots the wasm widget (widget/src/lib.rs).
// Embed with one tag:  <script type="module" src="https://YOUR-EDGE/bawaba.js"></script>
const base = new URL(".", import.meta.url).href;
let widget;
function load() {
  widget ??= import(new URL("widget/bawaba_widget.js", base).href).then(async (m) => {
    await m.default({ module_or_path: new URL("widget/bawaba_widget_bg.wasm", base) });
    return m;
  });
  return widget;
}
class BawabaCheckout extends HTMLElement {
  static observedAttributes = ["intent", "lang", "edge", "method"];
  connectedCallback() { load().then((m) => m.mount(this, base)); }
  disconnectedCallback() { load().then((m) => m.unmount(this)); }
  attributeChangedCallback() { if (this.isConnected) load().then((m) => m.mount(this, base)); }
}
if (!customElements.get("bawaba-checkout")) customElements.define("bawaba-checkout", BawabaCheckout);
