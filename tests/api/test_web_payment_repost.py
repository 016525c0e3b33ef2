"""The page's payment posting (api/web/static/js/submit-payment.js), run in Node: a 409 keeps the
visitor's tx hash and posts it again instead of asking for a second payment."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

MODULE = Path(__file__).resolve().parents[2] / "api" / "web" / "static" / "js" / "submit-payment.js"

def _run(script: str) -> dict:
    # Node comes with the dev chain (tests/services.sh installs it with anvil): a missing one is a failure.
    assert shutil.which("node"), "node is not installed: run the tests through `make test`"
    program = f"import * as payment from {json.dumps(MODULE.as_uri())};\n{script}"
    done = subprocess.run(["node", "--input-type=module", "-e", program], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_payment_hash_griefing_the_page_keeps_the_hash_on_409_and_posts_it_again():
    result = _run("""
const posted = [], slept = [];
const answers = [409, 409, 202];
const post = async (hash) => {
  posted.push(hash);
  const status = answers.shift();
  if (status !== 202) throw Object.assign(new Error("conflict"), { status, code: "tx_already_used" });
  return { status: "payment_pending" };
};
const answer = await payment.postHash(post, "0xabc", { sleep: async (ms) => { slept.push(ms); } });
const keeps = Object.fromEntries([0, 401, 402, 409, 429, 503].map((s) => [s, payment.keepsHash({ status: s })]));
console.log(JSON.stringify({ answer, posted, slept, keeps }));
""")
    assert result["answer"] == {"status": "payment_pending"}
    assert result["posted"] == ["0xabc"] * 3 and result["slept"] == [1000, 2000]
    assert result["keeps"] == {"0": True, "401": True, "402": False, "409": False, "429": True, "503": True}


def test_payment_hash_griefing_a_429_keeps_the_hash_and_posts_it_again_after_retry_after():
    result = _run("""
const slept = [];
let tries = 0;
const busy = async () => { tries += 1; throw Object.assign(new Error("busy"), { status: 429, retryAfter: "30" }); };
const err = await payment.postHash(busy, "0xabc", { sleep: async (ms) => { slept.push(ms); } }).catch((e) => e);
console.log(JSON.stringify({ status: err.status, tries, slept }));
""")
    assert result == {"status": 429, "tries": 5, "slept": [30000] * 4}
