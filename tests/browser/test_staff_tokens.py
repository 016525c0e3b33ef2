"""The consoles' token and list-parameter gaps, in Chromium against the embedded system.

An admin moderator issues a token in the Moderators tab, sees it once, the token signs in to the
console (a plain moderator: no way to mint), the admin revokes it and the console refuses it;
a revocation cascades to the tokens minted under the revoked one, and a 403 of the API turns the
panel read-only whatever the page guessed. An operator edits the list parameter of the re-drive
schedule (one id a line) and the API holds the list.
"""

from __future__ import annotations

import json
import re

import requests
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, MODERATOR_TOKEN, OPS_TOKEN, PHONE
from tests.browser.test_staff_pages import sideways_overflow, sign_in

TOKEN = re.compile(r"^mod_[A-Za-z0-9_-]{43}$")


def moderators_api(base: str) -> str:
    return f"{base}/api/moderation/moderators/"


def issue(base: str, name: str, by: str, *, admin: bool = False) -> str:
    """Issue a moderator token over HTTP as the holder of ``by``; return the new token."""
    answer = requests.post(moderators_api(base), headers={"Authorization": f"Bearer {by}"},
                           json={"name": name, "admin": admin}, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def lexicon_status(base: str, token: str) -> tuple[int, str | None]:
    answer = requests.get(f"{base}/api/moderation/lexicon/", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return answer.status_code, answer.json().get("code")


def open_moderators(page, base: str, token: str) -> None:
    page.goto(f"{base}/moderation#moderators")
    sign_in(page, "Moderator token", token)
    expect(page.get_by_role("tab", name="Moderators")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#moderators-summary")).not_to_be_empty()


def row(page, name: str):
    """The row of the moderators table whose name cell starts with ``name``."""
    return page.locator("#moderators-table tbody tr").filter(
        has=page.locator("th", has_text=re.compile(rf"^{re.escape(name)}")))


def test_an_admin_issues_a_token_shown_once_that_signs_in_and_revokes_it(
        system, context_factory, console_errors, shot):
    name = "Rita Reviewer"
    context = context_factory(viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=system.base)
    admin = console_errors.watch(context.new_page())
    open_moderators(admin, system.base, MODERATOR_TOKEN)
    expect(row(admin, "bootstrap")).to_contain_text("(you)")
    expect(row(admin, "bootstrap")).to_contain_text("admin")
    expect(admin.locator("#moderators-summary")).to_contain_text("You are signed in as bootstrap (admin).")
    expect(admin.locator("#moderators-readonly")).to_be_hidden()

    # An empty name is refused next to the field, before any request.
    admin.get_by_role("button", name="Issue token").click()
    field = admin.get_by_label("Name (who holds the token; unique)")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description("Enter the name of the token's holder.")
    expect(field).to_be_focused()

    field.fill(name)
    admin.get_by_role("button", name="Issue token").click()
    box = admin.get_by_role("region", name=f"The new token of {name}")
    expect(box).to_be_visible()
    expect(box).to_contain_text("This token is shown only now and cannot be shown again")
    value = admin.get_by_label("Token (shown once)")
    expect(value).to_be_focused()
    token = value.input_value()
    assert TOKEN.match(token), token
    expect(admin.locator("#status")).to_have_text(
        f"Issued a moderator token for {name}. Copy it now: it is shown only once.")
    expect(field).to_have_value("")
    box.get_by_role("button", name="Copy").click()
    expect(box).to_contain_text("Copied to the clipboard.")
    assert admin.evaluate("navigator.clipboard.readText()") == token
    mine = row(admin, name)
    for text in ("moderator", f"{token[:12]}…", "bootstrap", "active"):
        expect(mine).to_contain_text(text)
    expect(mine.get_by_role("button", name=f"Revoke the token of {name}")).to_be_visible()
    shot(admin, "moderators-issued")
    admin.set_viewport_size(PHONE)
    assert sideways_overflow(admin) <= 0
    admin.set_viewport_size(DESKTOP)

    # Closed, the token is nowhere on the page or in the tab's storage; the list never had it.
    box.get_by_role("button", name="I have copied it: close").click()
    expect(box).to_be_hidden()
    expect(field).to_be_focused()
    assert admin.locator("#issued-token-value").input_value() == ""
    assert token not in admin.content()
    assert token not in admin.evaluate("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)")
    assert token not in requests.get(moderators_api(system.base), timeout=10,
                                     headers={"Authorization": f"Bearer {MODERATOR_TOKEN}"}).text

    # The new token signs in; it is a plain moderator's, so the tab lists but offers no way to mint or revoke.
    holder = console_errors.watch(context_factory(viewport=DESKTOP).new_page())
    open_moderators(holder, system.base, token)
    expect(holder.locator("#moderators-summary")).to_contain_text(f"You are signed in as {name} (moderator).")
    expect(row(holder, name)).to_contain_text("(you)")
    expect(holder.locator("#moderators-readonly")).to_be_visible()
    expect(holder.locator("#moderators-readonly")).to_contain_text("Only an admin moderator issues and revokes")
    expect(holder.get_by_role("button", name="Issue token")).to_have_count(0)
    expect(holder.get_by_label("Name (who holds the token; unique)")).to_be_hidden()
    expect(holder.get_by_role("button", name=re.compile("^Revoke"))).to_have_count(0)
    shot(holder, "moderators-plain-moderator")

    # Revoking asks first; cancelling changes nothing.
    revoke = mine.get_by_role("button", name=f"Revoke the token of {name}")
    revoke.click()
    dialog = admin.get_by_role("dialog", name=f"Revoke the token of {name}?")
    expect(dialog).to_contain_text("This cannot be undone")
    dialog.get_by_role("button", name="Cancel").click()
    expect(revoke).to_be_focused()
    assert lexicon_status(system.base, token)[0] == 200

    revoke.click()
    shot(admin, "moderators-revoke-confirm")
    dialog.get_by_role("button", name=f"Revoke the token of {name}").click()
    expect(admin.locator("#status")).to_have_text(f"Revoked the token of {name}.")
    expect(mine).to_contain_text("revoked")
    expect(mine.get_by_role("button")).to_have_count(0)
    expect(mine.locator("th")).to_be_focused()
    assert lexicon_status(system.base, token) == (401, "invalid_moderator_token")

    # The holder's next call is refused: back to sign-in, and the token is not accepted again.
    holder.get_by_role("tab", name="Audit log").click()
    expect(holder.get_by_role("alert")).to_have_text(re.compile("no longer accepts your token"))
    expect(holder.locator("#console")).to_be_hidden()
    assert holder.evaluate("sessionStorage.length") == 0
    sign_in(holder, "Moderator token", token)
    expect(holder.get_by_role("alert")).to_have_text(re.compile("That moderator token was not accepted"))

    admin.get_by_role("tab", name="Audit log").click()
    admin.get_by_label("Action").select_option("moderator_revoked")
    expect(admin.locator("#audit-table tbody tr").first).to_contain_text(name)


def test_a_revocation_cascades_and_a_refused_mint_turns_the_panel_read_only(
        system, context_factory, console_errors, shot):
    ada = issue(system.base, "Ada Admin", MODERATOR_TOKEN, admin=True)
    cy = issue(system.base, "Cy Child", ada)  # a plain moderator minted by an admin one

    # Ada is an admin: her console offers the form.
    page = console_errors.watch(context_factory(viewport=DESKTOP).new_page())
    open_moderators(page, system.base, ada)
    expect(page.locator("#moderators-summary")).to_contain_text("You are signed in as Ada Admin (admin).")
    expect(page.get_by_role("button", name="Issue token")).to_be_visible()
    expect(row(page, "Cy Child")).to_contain_text("Ada Admin")  # minted by

    # Cy's page is told (falsely) that Cy is an admin, so it shows the form; the API's 403 decides.
    plain = console_errors.watch(context_factory(viewport=DESKTOP).new_page())

    def as_admin(route):
        response = route.fetch()
        items = response.json()
        for item in items:
            item["role"] = "admin"
        route.fulfill(response=response, body=json.dumps(items))

    plain.route(re.compile(r"/api/moderation/moderators/$"), lambda route: as_admin(route)
                if route.request.method == "GET" else route.continue_())
    open_moderators(plain, system.base, cy)
    plain.get_by_label("Name (who holds the token; unique)").fill("Dee Denied")
    plain.get_by_role("button", name="Issue token").click()
    expect(plain.locator("#moderators-readonly")).to_be_visible()
    expect(plain.locator("#moderators-readonly")).to_be_focused()
    expect(plain.locator("#status")).to_have_text(
        "Only an admin moderator issues and revokes moderator tokens, and yours is not an admin token.")
    expect(plain.get_by_role("button", name="Issue token")).to_have_count(0)
    expect(plain.get_by_role("button", name=re.compile("^Revoke"))).to_have_count(0)
    expect(plain.locator("#console")).to_be_visible()  # a 403 about the role does not sign out
    shot(plain, "moderators-refused-mint")
    names = [m["name"] for m in requests.get(moderators_api(system.base), timeout=10,
                                             headers={"Authorization": f"Bearer {MODERATOR_TOKEN}"}).json()]
    assert "Dee Denied" not in names

    # The bootstrap admin revokes Ada: the dialog names what goes with her, and it goes.
    admin = console_errors.watch(context_factory(viewport=DESKTOP).new_page())
    open_moderators(admin, system.base, MODERATOR_TOKEN)
    row(admin, "Ada Admin").get_by_role("button", name="Revoke the token of Ada Admin").click()
    dialog = admin.get_by_role("dialog", name="Revoke the token of Ada Admin?")
    expect(dialog).to_contain_text("It also revokes 1 token minted under it: Cy Child.")
    dialog.get_by_role("button", name="Revoke the token of Ada Admin").click()
    expect(admin.locator("#status")).to_have_text("Revoked the token of Ada Admin and 1 token minted under it.")
    expect(row(admin, "Cy Child")).to_contain_text("revoked")
    assert lexicon_status(system.base, ada) == (401, "invalid_moderator_token")
    assert lexicon_status(system.base, cy) == (401, "invalid_moderator_token")
    # The bootstrap token comes from MODERATOR_TOKEN: no revoke button for it.
    expect(row(admin, "bootstrap").get_by_role("button")).to_have_count(0)


def test_the_moderators_tab_in_russian(system, context_factory, console_errors):
    page = console_errors.watch(context_factory(locale="ru-RU").new_page())
    page.goto(f"{system.base}/moderation#moderators")
    page.get_by_label("Токен модератора").fill(MODERATOR_TOKEN)
    page.click("#signin-form button[type=submit]")
    expect(page.get_by_role("tab", name="Модераторы")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#moderators-summary")).to_contain_text(re.compile(r"^\d+ токен(а|ов)? модератор(а|ов)"))
    expect(page.locator("#moderators-summary")).to_contain_text("Вы вошли как bootstrap (администратор).")
    expect(page.get_by_role("button", name="Выпустить токен")).to_be_visible()


def test_an_operator_edits_a_list_parameter_one_item_a_line(system, context_factory, console_errors, shot):
    api = f"{system.base}/api/ops/schedules/redrive-dead-letters/"
    auth = {"Authorization": f"Bearer {OPS_TOKEN}"}
    page = console_errors.watch(context_factory(viewport=DESKTOP).new_page())
    page.goto(f"{system.base}/ops")
    sign_in(page, "Ops token", OPS_TOKEN)
    card = page.get_by_role("article", name="redrive-dead-letters")
    edit = card.get_by_role("button", name="Edit the schedule of redrive-dead-letters")
    save = card.get_by_role("button", name="Save")
    ids = card.get_by_label("ids: only these message or entry ids")
    wanted = ["1712345678901-0", "abc, with a comma", "9f1c2d3e-0000-4000-8000-000000000001"]
    try:
        edit.click()
        expect(ids).to_have_value("")
        expect(ids).to_have_accessible_description(re.compile("One item a line"))
        ids.fill(f"  {wanted[0]}\n\n{wanted[1]} \n{wanted[2]}\n")
        save.click()
        expect(page.locator("#status")).to_contain_text("Saved redrive-dead-letters")
        expect(card.locator("[data-field=params]")).to_contain_text(f"ids: {json.dumps(wanted, separators=(',', ':'))}")
        saved = requests.get(api, headers=auth, timeout=10).json()
        assert saved["params"]["ids"] == wanted
        assert saved["enabled"] is False  # still off, as by default: the form kept it
        assert saved["params"]["limit"] == 1000 and saved["params"]["source"] == "all"

        # Round trip: the form shows the saved list one item a line.
        edit.click()
        expect(ids).to_have_value("\n".join(wanted))
        shot(page, "ops-list-parameter")

        # The API refuses more than 1000 items: its reason under the field, nothing changed.
        ids.fill("\n".join(f"id-{n}" for n in range(1001)))
        save.click()
        expect(ids).to_have_attribute("aria-invalid", "true")
        expect(ids).to_have_accessible_description(re.compile(r"Not accepted: must be a list of at most 1000 strings"))
        expect(ids).to_be_focused()
        expect(card.get_by_role("alert")).to_have_text("The server did not accept a parameter; see the field.")
        assert requests.get(api, headers=auth, timeout=10).json()["params"]["ids"] == wanted

        # Empty means an empty list.
        ids.fill("")
        save.click()
        expect(ids).to_be_hidden()
        expect(ids).not_to_have_attribute("aria-invalid", "true")
        expect(card.locator("[data-field=params]")).to_contain_text("ids: []")
        assert requests.get(api, headers=auth, timeout=10).json()["params"]["ids"] == []
    finally:
        requests.put(api, headers=auth, json={"params": {"ids": []}}, timeout=10).raise_for_status()
