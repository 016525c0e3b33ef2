// What a visitor reads for each problem `code` of the profile flow (docs/ERRORS.md), and for the
// wallet's own refusals (EIP-1193 codes, turned into `wallet_*` codes by wallet.js). The words are
// msgids of the scripts' catalogue (i18n.js): each language has its own.

import { _, ngettext } from "./i18n.js";

export const VISITOR_MESSAGES = {
  // files
  empty_file: _("That file is empty. Please choose another one."),
  unsupported_media_type: _("That file is not a picture or a video we can read. Pictures: JPEG, PNG, WebP or GIF. Videos: MP4, MOV, WebM, MKV or AVI."),
  upload_kind_mismatch: _("That file is not the right kind here: put the picture in “Profile picture” and the video in “Video”."),
  file_too_large: _("That file is too large. Please choose a smaller one."),
  image_too_large: _("That picture has too many pixels. Please use a smaller picture."),
  video_too_large: _("That video's picture size is too large, or it has too many frames. Please export it at a lower resolution."),
  video_too_long: _("That video is too long. Please trim it and try again."),
  corrupt_media: _("That file seems damaged: it could not be read. Please export it again or choose another one."),
  poster_unavailable: _("We could not take a still picture from that video. Please try another file."),
  upload_quota_exceeded: _("You have uploaded a lot of files today."),
  temp_storage_full: _("Our upload space is full right now."),
  upload_not_found: _("That upload is no longer available. Please choose the file again."),
  upload_expired: _("That upload expired before it was used. Please choose the file again."),
  upload_in_use: _("That file already belongs to a submission."),
  upload_already_claimed: _("A file you chose was already used for another submission. Please choose it again."),
  wrong_upload_kind: _("The picture and the video are swapped. Please choose them again."),
  upload_aborted: _("The upload was cancelled."),
  upload_interrupted: _("The connection dropped. Pick the same file again: the upload continues where it stopped."),
  upload_processing_failed: _("We could not check that file just now. Please choose it again."),
  // the form
  validation_error: _("Some details need attention: see the messages next to the fields."),
  hashtag_rejected: _("One of your hashtags is not allowed: remove it to continue."),
  // signing in
  invalid_siwe_message: _("The sign-in message was not accepted. Please try signing in again."),
  siwe_wrong_domain: _("The sign-in message was made for another site. Please reload the page and sign in again."),
  siwe_wrong_chain: _("The sign-in message names another network. Please reload the page and sign in again."),
  siwe_expired: _("The sign-in request expired. Please sign in again (and check your computer's clock)."),
  invalid_nonce: _("That sign-in request was already used or expired. Please sign in again."),
  invalid_signature: _("The signature does not match your wallet address. Please sign in again."),
  wallet_token_required: _("Please sign in with your wallet first."),
  invalid_wallet_token: _("Your sign-in has expired. Please sign in with your wallet again."),
  wallet_not_owner: _("This submission belongs to another wallet. Switch to that account in your wallet and sign in again."),
  submission_not_found: _("That submission does not exist any more."),
  // paying
  invalid_tx_hash: _("Your wallet returned something that is not a transaction. Nothing was recorded; please try again."),
  payment_not_expected: _("This submission is not waiting for a payment any more."),
  tx_already_used: _("That transaction already paid for another submission. Please send a new payment."),
  too_many_pending_payments: _("You have several payments still waiting for the chain. Your payment is kept: press Pay again in a minute to record it (you will not pay twice)."),
  payment_underpaid: _("The payment was less than the price. Please pay the full amount shown."),
  payment_wrong_recipient: _("The payment went to another address than Showreel's. Please pay to the address shown."),
  payment_wrong_sender: _("The payment was sent from another account than the one you signed in with. Pay from the signed-in account."),
  payment_failed_tx: _("The transaction failed on the chain (it was reverted), so nothing was paid. Please try again."),
  payment_wrong_chain: _("The payment was made on another network. Please pay on the network shown."),
  payment_unknown_token: _("That token is not accepted. Please pay with ETH."),
  payment_quote_expired: _("The price quote expired before the payment arrived. Please start again to get a new quote."),
  payment_not_found: _("Your payment never showed up on the chain. Please check your wallet and pay again."),
  payments_not_configured: _("Payments are switched off on this server right now. Please try again later."),
  quote_expired: _("The price quote expired before it was paid. Please start again."),
  chain_unavailable: _("We cannot reach the blockchain right now; we keep checking your payment."),
  too_many_streams: _("Live updates are busy; we check your submission every few seconds instead."),
  // processing
  attempts_exhausted: _("Processing your video kept failing. Your payment is recorded: you can have it processed again without paying again."),
  retries_exhausted: _("Processing your video kept failing. Your payment is recorded: you can have it processed again without paying again."),
  submission_not_retryable: _("This submission cannot be processed again. Your payment is recorded; please contact us."),
  transcode_failed: _("Your video could not be converted. Our team has been notified; your payment is recorded."),
  upload_missing: _("Your uploaded files were gone before processing. Our team has been notified; your payment is recorded."),
  // the wallet itself (EIP-1193)
  wallet_missing: _("No Ethereum wallet was found in this browser. Install MetaMask (metamask.io) or another wallet extension, then reload this page."),
  wallet_rejected: _("You declined the request in your wallet. Nothing happened; you can try again when you are ready."),
  wallet_busy: _("Your wallet already has a request waiting. Open your wallet to answer it."),
  wallet_unauthorized: _("Your wallet has not allowed this site yet. Press “Connect wallet” first."),
  wallet_unknown_chain: _("Your wallet does not know the payment network yet. Add it in your wallet, then press Pay again."),
  wallet_no_account: _("Your wallet gave no account. Unlock your wallet and try again."),
  wallet_error: _("Your wallet reported an error."),
};

// The moderation check's reason for a tag, in the visitor's language, from what the server matched
// (POST /api/forms/validate/: category, term, view); the server's English `reason` when it sent no category.
const CATEGORIES = {
  profanity: _("profanity"), sexual: _("sexual content"), slur: _("a slur"), hate: _("hate speech"),
  violence: _("violence"), abuse: _("abuse"), drugs: _("drugs"), spam: _("spam"),
  moderator: _("a term moderators banned"),
};
const VIEWS = {
  normalized: _("once look-alike letters, leetspeak, separators, masks and repeats are undone"),
  translit: _("read as transliterated Russian"), lookalike: _("read as Cyrillic look-alike letters"),
  translit_en: _("read as transliterated English"),
};

export function hashtagReason(tag) {
  if (tag.verdict === "approved") return "";
  if (tag.category === "confusable" || tag.view === "confusable") {
    return _("mixes look-alike letters of several scripts in one word; it is stored and shown as “#{tag}”",
      { tag: tag.normalized });
  }
  let text = tag.category && tag.term
    ? _("contains {category} (“{term}”)", { category: CATEGORIES[tag.category] || tag.category, term: tag.term })
    : tag.reason || "";
  if (text && tag.category && VIEWS[tag.view]) text += ` ${VIEWS[tag.view]}`;
  if (tag.verdict === "needs_review") {
    text = tag.category ? _("{reason}; a moderator will review it", { reason: text }) : text || _("a moderator will review it");
  }
  return text;
}

// The server's field messages (shared/profiles/validation.py) in the visitor's language; one not
// listed here stays as the server wrote it.
const FIELD_MESSAGES = [
  [/^a name is required/, () => _("A name is required (an incognito profile may leave it out).")],
  [/^at most (\d+) characters \((\d+) given\)$/, (max, given) =>
    ngettext("At most {n} character ({given} given).", "At most {n} characters ({given} given).", Number(max), { given })],
  [/^must be one line of text$/, () => _("Must be one line of text.")],
  [/^must not contain control characters$/, () => _("Must not contain control characters.")],
  [/^must not contain invisible formatting/, () => _("Must not contain invisible formatting characters (zero-width spaces, direction overrides and the like).")],
  [/^a link has no spaces$/, () => _("A link has no spaces.")],
  [/^not a valid link$/, () => _("That is not a valid link.")],
  [/^only http:\/\/ and https:\/\/ links/, () => _("Only http:// and https:// links are allowed.")],
  [/^a link must not carry a user name/, () => _("A link must not carry a user name or password.")],
  [/^the link has no host name$/, () => _("The link has no host name.")],
  [/^the link must point at a public address$/, () => _("The link must point at a public address.")],
  [/^the link needs a full host name/, () => _("The link needs a full host name such as example.com.")],
  [/^the host name has characters/, () => _("The host name has characters a host name cannot have.")],
  [/^the host name has a punycode label/, () => _("The host name has a punycode label that does not decode.")],
  [/^the host name mixes alphabets/, () => _("The host name mixes alphabets (such as Latin and Cyrillic look-alike letters).")],
  [/^(.+) has characters a hashtag cannot have$/, (tag) => _("{tag} has characters a hashtag cannot have.", { tag })],
  [/^(.+) is not a hashtag: it needs a letter or a digit$/, (tag) => _("{tag} is not a hashtag: it needs a letter or a digit.", { tag })],
  [/^(#.+)\.\.\.: at most (\d+) characters$/, (tag, max) =>
    ngettext("{tag}…: at most {n} character.", "{tag}…: at most {n} characters.", Number(max), { tag })],
  [/^at most (\d+) hashtags \((\d+) given\)$/, (max, given) =>
    ngettext("At most {n} hashtag ({given} given).", "At most {n} hashtags ({given} given).", Number(max), { given })],
];

export function fieldMessage(message) {
  for (const [pattern, words] of FIELD_MESSAGES) {
    const match = pattern.exec(message);
    if (match) return words(...match.slice(1));
  }
  return message;
}
