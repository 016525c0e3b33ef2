"""A large video goes over tus from the page: a connection that drops mid-way and a reload do not
start it over; the same file picked again continues from the server's offset."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

from playwright.sync_api import expect

from tests.support.media import FFMPEG

MIB = 1024 * 1024
CHUNK = 8 * MIB  # the page's tus chunk size (api/web/static/js/submit-media.js)

# Every value the progress bar takes, from the moment this runs (a property set reflects on the attribute).
WATCH_PROGRESS = """() => {
  window.__progress = [];
  const bar = document.querySelector("#video-picker progress");
  new MutationObserver(() => window.__progress.push(Number(bar.value)))
    .observe(bar, { attributes: true, attributeFilter: ["value"] });
}"""


def noisy_mp4(path: Path) -> Path:
    """A valid 3 s H.264 clip of about 37 MiB: noise does not compress, so it is big without padding."""
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "testsrc2=size=640x360:rate=25:duration=3", "-vf", "noise=alls=100:allf=t",
                    "-c:v", "libx264", "-preset", "ultrafast", "-qp", "2", "-pix_fmt", "yuv420p", "-an",
                    str(path)], check=True, timeout=120)
    return path


def test_a_video_upload_cut_off_mid_way_resumes_after_a_reload_without_starting_over(
        system, context_factory, console_errors, tmp_path):
    video = noisy_mp4(tmp_path / "big.mp4")
    size = video.stat().st_size
    assert size > 4 * CHUNK
    context = context_factory()
    page = console_errors.watch(context.new_page())

    # Bytes of every PATCH body let through to the server; from the 3rd on the network is gone.
    received: list[int] = []
    state = {"patches": 0, "dropping": True}

    def network(route):
        request = route.request
        if request.method != "PATCH":
            return route.continue_()
        state["patches"] += 1
        if state["dropping"] and state["patches"] >= 3:
            return route.abort("connectionreset")
        body = request.post_data_buffer
        received.append(len(body) if body is not None else int(request.headers["content-length"]))
        return route.continue_()

    context.route("**/api/uploads/tus/**", network)
    page.goto(system.base + "/")
    page.set_input_files("#video", str(video))
    page.wait_for_function("() => document.querySelector('#video-picker .upload-progress').hidden === false")
    # Given a connection that dropped at the 3rd chunk (its retries fail too)...
    page.wait_for_function("() => Boolean(document.querySelector('#video-picker .field-error').textContent)",
                           timeout=30_000)
    expect(page.locator("#video-picker .field-error")).to_contain_text("Pick the same file again")
    assert sum(received) == 2 * CHUNK

    # ...when the visitor reloads the page and picks the same file again...
    state["dropping"] = False
    page.reload()
    page.evaluate(WATCH_PROGRESS)
    page.set_input_files("#video", str(video))

    # ...then it continues from the server's offset, waits for the file to be checked, and shows it.
    expect(page.locator("#video-picker figure.preview")).to_be_visible(timeout=60_000)
    expect(page.locator("#video-status")).to_have_text("Video uploaded.")
    shown = [value for value in page.evaluate("window.__progress") if value > 0]
    assert shown and min(shown) >= math.floor(2 * CHUNK / size * 100), shown
    assert sum(received) == size < 1.3 * size
    assert len(received) == 2 + math.ceil((size - 2 * CHUNK) / CHUNK)
    caption = page.locator("#video-picker figcaption").inner_text()
    assert "640 × 360" in caption
