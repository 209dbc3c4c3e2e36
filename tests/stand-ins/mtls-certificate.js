// A stand-in for a Cloudflare mTLS certificate binding (`[[mtls_certificates]]`), which local
// workerd does not have: wrangler runs those bindings remotely only. The real binding fetches the
// request's URL presenting the certificate as the TLS client certificate; this one sends the
// request to the test's fake of that host (TARGET), with the certificate's name where the fake
// checks it and the host the request was meant for. Thin glue for tests only: the edge calls it
// exactly as it calls the real binding (`env.APPLE_PAY_MERCHANT_CERT.fetch`).
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.protocol !== "https:") {
      return new Response("an mTLS binding fetches https URLs only", { status: 502 });
    }
    const headers = new Headers(request.headers);
    headers.set("X-Test-Client-Certificate", env.CERTIFICATE);
    headers.set("X-Test-Original-Host", url.host);
    return fetch(env.TARGET + url.pathname + url.search, { method: request.method, headers, body: request.body });
  },
};
