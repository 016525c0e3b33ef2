// The visitor's Ethereum wallet through EIP-1193 (window.ethereum: MetaMask and the like), and
// Sign-In with Ethereum against the API. Wallet refusals become errors with a `wallet_*` code,
// so the page can say them in words (submit-messages.js).

import { api } from "./api.js";

export class WalletError extends Error {
  constructor(code, message, walletCode) {
    super(message || code);
    this.code = code;
    this.walletCode = walletCode;
  }
}

// EIP-1193 / EIP-1474 codes a visitor can cause or fix.
const CODES = { 4001: "wallet_rejected", 4100: "wallet_unauthorized", 4902: "wallet_unknown_chain", [-32002]: "wallet_busy" };

export function provider() {
  return typeof window !== "undefined" && window.ethereum ? window.ethereum : null;
}

export async function request(method, params = []) {
  const eth = provider();
  if (!eth) throw new WalletError("wallet_missing");
  try {
    return await eth.request({ method, params });
  } catch (err) {
    const code = err && (err.code ?? (err.data && err.data.originalError && err.data.originalError.code));
    throw new WalletError(CODES[code] || "wallet_error", err && err.message, code);
  }
}

// The account the wallet already shares with this site, without a prompt (null when none).
export async function knownAccount() {
  if (!provider()) return null;
  try {
    const accounts = await request("eth_accounts");
    return accounts && accounts[0] ? accounts[0] : null;
  } catch {
    return null;
  }
}

export async function connect() {
  const accounts = await request("eth_requestAccounts");
  if (!accounts || !accounts[0]) throw new WalletError("wallet_no_account");
  return accounts[0];
}

function utf8Hex(text) {
  return "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
}

// Sign-In with Ethereum: the server's EIP-4361 message, signed with personal_sign; the session is
// the HttpOnly cookie the login sets (the page never keeps the token).
export async function signIn(address) {
  const { message } = await api(`/api/auth/nonce/?address=${encodeURIComponent(address)}`);
  const signature = await request("personal_sign", [utf8Hex(message), address]);
  return api("/api/auth/login/", { method: "POST", body: { message, signature } });
}

export async function signedInAddress() {
  try {
    return (await api("/api/auth/me/")).address;
  } catch (err) {
    if (err.code === "invalid_wallet_token") await api("/api/auth/logout/", { method: "POST" }).catch(() => {});
    if (err.status === 401) return null;
    throw err;
  }
}

export const toHex = (value) => "0x" + BigInt(value).toString(16);

// Put the wallet on `chainId`; a network the wallet does not know is added when the server runs
// the local dev chain (GET /api/dev/chain/ answers only in the embedded default).
export async function ensureChain(chainId) {
  const current = parseInt(await request("eth_chainId"), 16);
  if (current === Number(chainId)) return false;
  try {
    await request("wallet_switchEthereumChain", [{ chainId: toHex(chainId) }]);
  } catch (err) {
    if (err.code !== "wallet_unknown_chain") throw err;
    const dev = await api("/api/dev/chain/").catch(() => null);
    if (!dev || Number(dev.chain_id) !== Number(chainId)) throw err;
    await request("wallet_addEthereumChain", [{
      chainId: toHex(chainId), chainName: "Showreel dev chain", rpcUrls: [dev.rpc_url],
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    }]);
  }
  return true;
}

// Send the quoted amount to the quoted receiver; answers the transaction hash.
export function sendPayment(from, quote) {
  return request("eth_sendTransaction", [{ from, to: quote.to, value: toHex(quote.amount_wei) }]);
}

// 10000000000000000 wei -> "0.01"
export function formatEther(wei) {
  const value = BigInt(wei);
  const whole = value / 10n ** 18n;
  const fraction = (value % 10n ** 18n).toString().padStart(18, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

export const shortAddress = (address) => (address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "");

export const sameAddress = (a, b) => Boolean(a && b && a.toLowerCase() === b.toLowerCase());
