// Entry module for workerd: hands each event to the Rust worker (see edge/src/lib.rs) and
// exports the Durable Object classes. xtask copies it next to the wasm-bindgen output.
import { WorkerEntrypoint } from "cloudflare:workers";
import * as exports from "./index.js";

export default class Entrypoint extends WorkerEntrypoint {
  fetch(request) {
    return exports.fetch.call(this, request, this.env, this.ctx);
  }
  scheduled(event) {
    return exports.scheduled.call(this, event, this.env, this.ctx);
  }
}

export const PaymentObject = exports.PaymentObject;
export const SandboxGateway = exports.SandboxGateway;
export const DemoShop = exports.DemoShop;
export const Ledger = exports.Ledger;
export const GatewayIndex = exports.GatewayIndex;
export const SessionLimiter = exports.SessionLimiter;
