"""The web app in a real browser: Debian's chromium driven by Playwright for Python.

Run by crates/cli/tests/it/web.rs against a real tickler server:

    python web_browser.py SCENARIO --base http://127.0.0.1:PORT [--screenshots DIR]

Every control is found by its role and accessible name (the names the issue makes a contract),
never by CSS class. axe-core (axe-playwright-python) checks every screen for serious and critical
violations. Exits non-zero, with the reason, when an expectation fails.
"""

import argparse
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = os.environ.get("TICKLER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
# Generous: CI shares two cores with builds; every wait returns as soon as its condition holds.
LIVE_TIMEOUT_MS = 20_000
expect.set_options(timeout=15_000)


class Api:
    """A JSON client of the same server (bearer tokens), standing for another device or script."""

    def __init__(self, base, token=None):
        self.base = base
        self.token = token

    def call(self, method, path, body=None, expect_status=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("accept", "application/json")
        if data is not None:
            request.add_header(
                "content-type",
                "application/merge-patch+json" if method == "PATCH" else "application/json",
            )
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        if expect_status is not None and status != expect_status:
            raise AssertionError(f"{method} {path}: expected {expect_status}, got {status}: {text}")
        return json.loads(text) if text else None

    def login(self, email):
        session = self.call("POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD}, 200)
        self.token = session["access_token"]
        return session["user"]

    def tasks(self, **params):
        query = "&".join(f"{key}={value}" for key, value in params.items())
        return self.call("GET", f"/api/v1/tasks?{query}", expect_status=200)["items"]

    def task_titled(self, title):
        matches = [task for task in self.tasks(limit=200) if task["title"] == title]
        assert matches, f"no task titled {title!r}"
        return matches[0]

    def eventually(self, probe, what, seconds=20):
        deadline = time.monotonic() + seconds
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not reached within {seconds} s: {what}")
            time.sleep(0.1)


class Browser:
    """One chromium for a scenario; records requests to other origins and page errors."""

    def __init__(self, playwright, base, screenshots):
        self.base = base
        self.screenshots = screenshots
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self.foreign_requests = []
        self.page_errors = []
        self.dialogs = []
        self.axe = Axe()

    def context(self, *, width=1280, height=800, dark=False, base=None, timezone_id="Asia/Karachi"):
        context = self.browser.new_context(
            base_url=base or self.base,
            viewport={"width": width, "height": height},
            color_scheme="dark" if dark else "light",
            timezone_id=timezone_id,
            locale="en-GB",
            reduced_motion="reduce",
        )
        origin = base or self.base
        context.on("request", lambda request: self._request(request, origin))
        return context

    def _request(self, request, origin):
        url = request.url
        if not (url.startswith(origin) or url.startswith(origin.replace("http", "ws", 1)) or url.startswith("data:")):
            self.foreign_requests.append(url)

    def page(self, context):
        page = context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        return page

    def check_accessibility(self, page, screen):
        results = self.axe.run(page)
        serious = [
            violation
            for violation in results.response["violations"]
            if violation.get("impact") in ("serious", "critical")
        ]
        if serious:
            details = "; ".join(
                f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
                for v in serious
            )
            raise AssertionError(f"axe found serious violations on {screen}: {details}")

    def screenshot(self, page, name):
        if self.screenshots:
            os.makedirs(self.screenshots, exist_ok=True)
            page.screenshot(path=os.path.join(self.screenshots, f"{name}.png"))

    def close(self):
        self.browser.close()
        assert not self.page_errors, f"uncaught errors in the page: {self.page_errors}"
        assert not self.dialogs, f"the page opened dialogs (script ran?): {self.dialogs}"
        assert not self.foreign_requests, f"requests to other origins: {self.foreign_requests}"


def sign_up(page: Page, email):
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("textbox", name="Add a task")).to_be_visible()


def sign_in(page: Page, email):
    page.goto("/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("searchbox", name="Search tasks")).to_be_visible()


def move_focus_to(page: Page, title):
    """Moves the keyboard focus to the row titled `title` with j and k only.

    Each step reads where the focus is now, so a list re-rendered by a late live update between
    two key presses costs a step instead of failing the walk.
    """
    deadline = time.monotonic() + 15
    while True:
        titles = [
            name.removeprefix("Complete: ")
            for name in page.get_by_role("checkbox", name=re.compile("^Complete: ")).evaluate_all(
                "boxes => boxes.map((box) => box.getAttribute('aria-label'))"
            )
        ]
        focused = page.evaluate("document.activeElement && document.activeElement.textContent")
        if focused == title:
            return
        assert time.monotonic() < deadline, (
            f"j/k never focused {title!r}: rows {titles}, focus on "
            + repr(page.evaluate("document.activeElement && document.activeElement.outerHTML"))
        )
        if title in titles:
            below = focused not in titles or titles.index(focused) < titles.index(title)
            page.keyboard.press("j" if below else "k")
        else:
            page.wait_for_timeout(50)  # the list is being replaced: look again


def task_item(page: Page, title):
    return page.get_by_role("listitem").filter(has=page.get_by_role("checkbox", name=f"Complete: {title}", exact=True))


def quick_add(page: Page, text):
    box = page.get_by_role("textbox", name="Add a task")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def wait_live(page: Page):
    """Waits until the app's live connection reports ready."""
    expect(page.get_by_role("status").filter(has_text=re.compile("^Live$"))).to_have_count(1, timeout=LIVE_TIMEOUT_MS)


# --- scenarios --------------------------------------------------------------------------------


def shown_once_secret(page, prefix):
    """The secret the page shows once after creating a token or a webhook."""
    return page.locator("code.secret").filter(has_text=re.compile("^" + re.escape(prefix)))


def scenario_tasks(browser: Browser, base):
    """Sign-up, quick add with highlighting, editing every field, the XSS title, keyboard-only
    completion, search, the 360 px layout, accessibility of every screen, screenshots."""
    api = Api(base)
    context = browser.context()
    page = browser.page(context)
    page.goto("/signup")
    expect(page.get_by_role("button", name="Create account")).to_be_visible()
    browser.check_accessibility(page, "sign-up")
    browser.screenshot(page, "sign-up")
    sign_up(page, "ada@example.org")
    me = api.login("ada@example.org")
    assert me["timezone"] == "Asia/Karachi", f"time zone from the browser: {me}"

    # The first load: compressed scripts and styles within budget, nothing from other origins.
    transferred = page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter((entry) => /\\.(js|css)$/.test(new URL(entry.name).pathname))
            .reduce((sum, entry) => sum + entry.encodedBodySize, 0)"""
    )
    assert 0 < transferred <= 150_000, f"first load transferred {transferred} bytes of JS and CSS"

    # Quick add: the parser's recognised parts are highlighted before saving.
    box = page.get_by_role("textbox", name="Add a task")
    box.fill("Pay rent every month on the 1st at 9am #home p1 remind me 1 day before")
    preview = page.get_by_role("group", name="Preview")
    expect(preview).to_be_visible()
    expect(preview.locator("mark").filter(has_text="#home")).to_have_count(1)
    expect(preview.locator("mark").filter(has_text="every month")).to_have_count(1)
    expect(preview.get_by_text("Every month", exact=False).first).to_be_visible()
    expect(preview.get_by_text("1 day before")).to_have_count(2)
    expect(preview.get_by_text("Urgent")).to_be_visible()
    browser.screenshot(page, "quick-add")
    box.press("Enter")
    expect(box).to_have_value("")
    page.goto("/all")
    rent = task_item(page, "Pay rent")
    expect(rent).to_be_visible()
    expect(rent).to_contain_text("#home")
    stored = api.task_titled("Pay rent")
    assert stored["recurrence"] and stored["priority"] == "urgent" and stored["tags"] == ["home"], stored
    assert stored["reminders"] == ["-P1D"], stored

    # A title that is markup shows as text and runs nothing.
    xss = "<img src=x onerror=alert(1)>"
    api.call("POST", "/api/v1/tasks", {"title": xss, "tags": ["security"]}, 201)
    page.reload()
    expect(page.get_by_role("button", name=xss, exact=True)).to_be_visible()
    assert page.locator("img").count() == 0, "markup in a title became an element"

    for text in ["Call mom tomorrow at 5pm #family", "Dentist friday 3pm #health p2", "Buy milk today #errands", "Water the plants every 3 days #home"]:
        quick_add(page, text)
    expect(task_item(page, "Buy milk")).to_be_visible()

    # Editing every field in the task panel.
    page.get_by_role("button", name="Call mom", exact=True).click()
    panel = page.get_by_role("dialog", name="Task details")
    expect(panel).to_be_visible()
    browser.check_accessibility(page, "task panel")
    panel.get_by_label("Title").fill("Call mom and dad")
    panel.get_by_label("Description").fill("Ask about the trip")
    panel.get_by_label("Due date").fill("2030-03-04")
    panel.get_by_label("Time", exact=True).fill("18:30")
    panel.get_by_label("Time zone").select_option("Europe/London")
    panel.get_by_label("Repeat", exact=True).select_option("custom")
    panel.get_by_label("Rule").fill("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=8")
    panel.get_by_label("Next date counts from").select_option("from_completion")
    panel.get_by_label("Add reminder").select_option("-PT30M")
    panel.get_by_label("Add tag").fill("fam")
    expect(panel.locator("datalist option[value='family']")).to_have_count(0)  # already on the task
    panel.get_by_label("Add tag").fill("phone")
    panel.get_by_label("Add tag").press("Enter")
    panel.get_by_role("button", name="Remove tag family").click()
    panel.get_by_label("Priority").select_option("high")
    panel.get_by_role("button", name="Save").click()
    expect(panel.get_by_role("heading", name="Next occurrences")).to_be_visible()
    expect(panel.get_by_role("list", name="Next occurrences").get_by_role("listitem")).to_have_count(5)
    browser.screenshot(page, "task-panel")
    edited = api.task_titled("Call mom and dad")
    assert edited["description"] == "Ask about the trip", edited
    assert edited["timezone"] == "Europe/London", edited
    assert edited["due_at"] == "2030-03-04T18:30:00Z", edited  # London is on UTC in March
    assert edited["all_day"] is False, edited
    assert edited["recurrence"] == "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=8", edited
    assert edited["recurrence_mode"] == "from_completion", edited
    assert edited["reminders"] == ["-PT30M"], edited
    assert edited["tags"] == ["phone"], edited
    assert edited["priority"] == "high", edited
    # All day, another preset, tag autocomplete by usage.
    panel.get_by_label("All day").check()
    panel.get_by_label("Repeat", exact=True).select_option("monthly")
    panel.get_by_label("Add tag").fill("ho")
    expect(panel.locator("datalist option[value='home']")).to_have_count(1)
    panel.get_by_label("Add tag").fill("home")
    panel.get_by_role("button", name="Save").click()
    api.eventually(lambda: api.task_titled("Call mom and dad")["all_day"], "all-day saved")
    edited = api.task_titled("Call mom and dad")
    assert edited["due_at"].startswith("2030-03-04") and edited["recurrence"] == "FREQ=MONTHLY", edited
    assert sorted(edited["tags"]) == ["home", "phone"], edited
    panel.get_by_text("History").click()
    expect(panel.get_by_text("Created")).to_be_visible()
    expect(panel.get_by_text(re.compile("Changed .*title"))).to_be_visible()
    panel.get_by_role("button", name="Close").click()
    expect(panel).to_be_hidden()

    # Keyboard only: move to a task with j, complete it with x, undo with the toast. First the
    # page settles: once live, the app refetches the list (its connection has nothing to
    # replay), and keys pressed while that refetch is in flight raced it (a full run under load
    # saw the x of a focused row complete nothing).
    page.goto("/all")
    expect(task_item(page, "Buy milk")).to_be_visible()
    wait_live(page)
    page.wait_for_load_state("networkidle")
    move_focus_to(page, "Buy milk")
    page.keyboard.press("x")
    expect(page.get_by_role("checkbox", name="Complete: Buy milk")).to_be_checked()
    api.eventually(lambda: api.task_titled("Buy milk")["status"] == "done", "Buy milk done")
    page.get_by_role("button", name="Undo").click()
    api.eventually(lambda: api.task_titled("Buy milk")["status"] == "todo", "Buy milk reopened")
    expect(page.get_by_role("checkbox", name="Complete: Buy milk")).not_to_be_checked()
    # Tab to the checkbox and press space.
    page.get_by_role("checkbox", name="Complete: Buy milk").focus()
    page.keyboard.press("Space")
    api.eventually(lambda: api.task_titled("Buy milk")["status"] == "done", "Buy milk done by space")
    # q focuses quick add; / focuses search.
    page.locator("body").click(position={"x": 5, "y": 400})
    page.keyboard.press("q")
    expect(page.get_by_role("textbox", name="Add a task")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="Search tasks")
    expect(search).to_be_focused()
    search.fill("dentist")
    expect(page).to_have_url(re.compile(r"/search\?q=dentist"))
    expect(task_item(page, "Dentist")).to_be_visible()
    expect(task_item(page, "Pay rent")).to_have_count(0)

    # Filters: by tag and by priority.
    page.goto("/all?tag=home")
    expect(task_item(page, "Water the plants")).to_be_visible()
    expect(task_item(page, "Dentist")).to_have_count(0)
    page.goto("/all?priority=urgent")
    expect(task_item(page, "Pay rent")).to_be_visible()
    expect(task_item(page, "Water the plants")).to_have_count(0)

    # Screens: today (light), inbox, settings, completed; each checked by axe.
    page.goto("/today")
    expect(page.get_by_role("heading", name="Today", level=1)).to_be_visible()
    browser.check_accessibility(page, "today")
    page.goto("/all")
    expect(task_item(page, "Pay rent")).to_be_visible()
    browser.check_accessibility(page, "all tasks")
    browser.screenshot(page, "tasks-light")
    page.get_by_role("button", name=re.compile("^Notifications")).click()
    expect(page.get_by_role("dialog", name="Notifications")).to_be_visible()
    browser.check_accessibility(page, "notifications inbox")
    page.keyboard.press("Escape")
    page.goto("/completed")
    expect(task_item(page, "Buy milk")).to_be_visible()
    browser.check_accessibility(page, "completed")
    page.goto("/settings")
    page.get_by_role("button", name="Create token").wait_for()
    page.get_by_label("Token name").fill("laptop script")
    page.get_by_role("button", name="Create token").click()
    # The full token is shown once, as a secret; the token list shows only its prefix.
    expect(shown_once_secret(page, "tkl_")).to_be_visible()
    page.get_by_label("Webhook URL").fill("https://hooks.example.org/tickler")
    page.get_by_role("button", name="Add webhook").click()
    expect(shown_once_secret(page, "whsec_")).to_be_visible()
    browser.check_accessibility(page, "settings")
    browser.screenshot(page, "settings")
    context.close()

    # Dark mode, and the phone layout at 360 px.
    dark = browser.context(dark=True)
    page = browser.page(dark)
    sign_in(page, "ada@example.org")
    page.goto("/all")
    expect(task_item(page, "Pay rent")).to_be_visible()
    browser.check_accessibility(page, "all tasks, dark")
    browser.screenshot(page, "tasks-dark")
    dark.close()
    phone = browser.context(width=360, height=780)
    page = browser.page(phone)
    sign_in(page, "ada@example.org")
    page.goto("/all")
    expect(task_item(page, "Pay rent")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide at 360 px"
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(page.get_by_role("navigation", name="Views")).not_to_be_in_viewport()
    browser.check_accessibility(page, "phone")
    browser.screenshot(page, "phone-360")
    menu.click()
    expect(page.get_by_role("link", name="Completed")).to_be_in_viewport()
    page.get_by_role("link", name="Completed").click()
    expect(page.get_by_role("heading", name="Completed", level=1)).to_be_visible()
    page.get_by_role("button", name="Buy milk").click()
    panel = page.get_by_role("dialog", name="Task details")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box and box["width"] <= 360, f"panel {box}"
    phone.close()


def scenario_chat(browser: Browser, base):
    """Chat in English and Urdu, with clarification buttons; the interface in Urdu, mirrored."""
    context = browser.context()
    page = browser.page(context)
    sign_up(page, "chat@example.org")
    api = Api(base)
    api.login("chat@example.org")
    page.goto("/chat")
    message = page.get_by_role("textbox", name="Message")
    conversation = page.get_by_role("region", name="Conversation")
    message.fill("remind me to call the plumber tomorrow at 10am")
    message.press("Enter")
    expect(conversation.get_by_role("listitem").filter(has_text="plumber").nth(1)).to_be_visible()
    api.eventually(lambda: any("plumber" in task["title"] for task in api.tasks(limit=50)), "plumber task")
    page.get_by_role("link", name="Upcoming").click()
    expect(page.get_by_role("checkbox", name=re.compile("^Complete: .*plumber"))).to_be_visible()

    # A name that matches two tasks: the assistant asks, the choices are buttons.
    api.call("POST", "/api/v1/tasks", {"title": "Dentist appointment"}, 201)
    api.call("POST", "/api/v1/tasks", {"title": "Pay the dentist"}, 201)
    page.get_by_role("link", name="Assistant").click()
    message = page.get_by_role("textbox", name="Message")
    message.fill("mark the dentist task done")
    message.press("Enter")
    choice = conversation.get_by_role("button", name="Pay the dentist")
    expect(choice).to_be_visible()
    browser.check_accessibility(page, "chat")
    choice.click()
    api.eventually(lambda: api.task_titled("Pay the dentist")["status"] == "done", "the chosen task completed")
    assert api.task_titled("Dentist appointment")["status"] != "done"

    # Urdu, in the Arabic script: the message and the reply read right to left.
    message.fill("کل شام 5 بجے امی کو فون کرنا ہے")
    message.press("Enter")
    expect(conversation.get_by_text("امی کو فون", exact=False).first).to_be_visible()
    api.eventually(lambda: any("امی" in task["title"] for task in api.tasks(limit=50)), "Urdu task created")
    # The assistant replies in Urdu too; its reply reads right to left.
    expect(conversation.get_by_text("Thinking")).to_have_count(0)
    directions = conversation.evaluate(
        """(region) => [...region.querySelectorAll('[dir="auto"]')]
            .filter((element) => /^[^A-Za-z\u0600-\u06FF]*[\u0600-\u06FF]/.test(element.textContent))
            .map((element) => getComputedStyle(element).direction)"""
    )
    assert len(directions) >= 2 and set(directions) == {"rtl"}, f"Urdu text directions: {directions}"
    # Roman Urdu.
    message.fill("kal subah 9 baje doodh lana hai")
    message.press("Enter")
    api.eventually(lambda: any("doodh" in task["title"].lower() for task in api.tasks(limit=50)), "Roman Urdu task")
    # The conversation is kept: it is listed and reopens with its messages.
    page.reload()
    expect(page.get_by_role("navigation", name="Conversations").get_by_role("link").first).to_be_visible()
    browser.check_accessibility(page, "conversation list")
    page.get_by_role("navigation", name="Conversations").get_by_role("link").first.click()
    reopened = page.get_by_role("region", name="Conversation")
    expect(reopened.get_by_text("mark the dentist task done")).to_be_visible()
    expect(reopened.get_by_text("doodh", exact=False).first).to_be_visible()

    # The interface in Urdu: mirrored, translated, still accessible.
    page.get_by_role("button", name="اردو").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("region", name="گفتگو")).to_be_visible()
    expect(page.get_by_role("textbox", name="پیغام")).to_be_visible()
    browser.check_accessibility(page, "chat in Urdu")
    browser.screenshot(page, "chat-urdu")
    page.get_by_role("link", name="تمام کام").click()
    expect(page.get_by_role("checkbox", name=re.compile("^مکمل کریں: "))).not_to_have_count(0)
    browser.check_accessibility(page, "tasks in Urdu")
    browser.screenshot(page, "tasks-urdu")
    nav = page.get_by_role("navigation", name="منظر").bounding_box()
    assert nav and nav["x"] > 640, f"the navigation is on the right in Urdu: {nav}"
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    context.close()


class DroppingProxy:
    """A TCP proxy between the browser and the server that can cut every connection at once
    and refuse new ones for a while: a network drop, as the browser sees it."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.connections = []
        self.lock = threading.Lock()
        self.offline = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.offline.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop(self):
        """Cuts every connection and refuses new ones until `restore`."""
        self.offline.set()
        with self.lock:
            connections, self.connections = self.connections, []
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            except OSError:
                pass

    def restore(self):
        self.offline.clear()


def scenario_live(browser: Browser, base):
    """Live updates: REST changes, two contexts in sync, the recurring service's next instance,
    reconnect with the cursor after a network drop, the reminder toast."""
    api = Api(base)
    context = browser.context()
    page = browser.page(context)
    sign_up(page, "live@example.org")
    api.login("live@example.org")
    page.goto("/all")
    wait_live(page)

    # A change through the REST API appears without reloading.
    api.call("POST", "/api/v1/tasks", {"title": "Made by a script"}, 201)
    expect(task_item(page, "Made by a script")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    task = api.task_titled("Made by a script")
    api.call("PATCH", f"/api/v1/tasks/{task['id']}", {"title": "Renamed by a script"}, 200)
    expect(task_item(page, "Renamed by a script")).to_be_visible(timeout=LIVE_TIMEOUT_MS)

    # Two browser contexts of the same user stay in sync.
    other_context = browser.context()
    other = browser.page(other_context)
    sign_in(other, "live@example.org")
    other.goto("/all")
    wait_live(other)
    quick_add(other, "Added in the other window")
    expect(task_item(page, "Added in the other window")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    page.get_by_role("checkbox", name="Complete: Renamed by a script").check()
    expect(other.get_by_role("checkbox", name="Complete: Renamed by a script")).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
    other_context.close()

    # Completing a recurring task: the next instance appears, made by the recurring service.
    due = (datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    api.call("POST", "/api/v1/tasks", {"title": "Stretch", "due_at": due, "recurrence": "FREQ=DAILY"}, 201)
    expect(task_item(page, "Stretch")).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    page.get_by_role("checkbox", name="Complete: Stretch").check()
    # The completion is sent when the undo window closes; then the next instance arrives live.
    api.eventually(lambda: len(api.tasks(q="Stretch", limit=10)) == 2, "next instance created", 30)
    expect(page.get_by_role("checkbox", name="Complete: Stretch", checked=False)).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    instances = sorted(api.tasks(q="Stretch", limit=10), key=lambda item: item["sequence"])
    assert [item["status"] for item in instances] == ["done", "todo"], instances
    assert page.get_by_role("checkbox", name="Complete: Stretch").count() == 1

    # A reminder firing while the app is open shows a toast.
    soon = (datetime.now(timezone.utc) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    api.call("POST", "/api/v1/tasks", {"title": "Take the cake out", "due_at": later, "reminders": [soon]}, 201)
    toast = page.get_by_role("status").filter(has_text="Reminder: Take the cake out")
    expect(toast).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name=re.compile("^Notifications, 1 unread"))).to_be_visible()
    browser.screenshot(page, "reminder-toast")
    context.close()

    # Reconnect after a network drop: changes made meanwhile arrive with the replay.
    target_port = int(base.rsplit(":", 1)[1])
    proxy = DroppingProxy(target_port)
    proxied = f"http://127.0.0.1:{proxy.port}"
    context = browser.context(base=proxied)
    page = browser.page(context)
    sign_in(page, "live@example.org")
    page.goto("/all")
    wait_live(page)
    proxy.drop()
    expect(page.get_by_role("status").filter(has_text=re.compile("^Reconnecting"))).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    api.call("POST", "/api/v1/tasks", {"title": "Made while offline"}, 201)
    proxy.restore()
    expect(task_item(page, "Made while offline")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    wait_live(page)
    context.close()


# --- the manage scenario: recurrence preview, undo, sort, settings, more screens ---------------


def undo_toast(page: Page, message):
    """The Undo button of the toast saying `message`, hovered at once: a hovered toast keeps its
    undo window open however long the next steps take."""
    toast = page.get_by_role("status").filter(has_text=message)
    undo = toast.get_by_role("button", name="Undo")
    expect(undo).to_be_visible()
    undo.hover()
    return undo


def titles_in_order(page: Page, wanted, order):
    """Waits until the rows titled `wanted` stand in `order` in the list (other rows aside)."""
    page.wait_for_function(
        """([wanted, order]) => {
            const titles = [...document.querySelectorAll('input[type=checkbox][aria-label^="Complete: "]')]
                .map((box) => box.getAttribute('aria-label').slice('Complete: '.length))
                .filter((title) => wanted.includes(title));
            return JSON.stringify(titles) === JSON.stringify(order);
        }""",
        arg=[wanted, order],
        timeout=15_000,
    )


def refused(client: Api):
    """Whether the server now refuses `client`'s credential (401)."""
    try:
        client.call("GET", "/api/v1/me", expect_status=401)
        return True
    except AssertionError:
        return False


def check_recurrence_preview(page: Page, api: Api):
    """The task panel shows a rule's next occurrences, or why it cannot be saved, while the rule
    is chosen or typed, before saving; closing without saving changes nothing."""
    api.call(
        "POST",
        "/api/v1/tasks",
        {"title": "Team sync", "due_at": "2030-03-18T09:00:00Z", "timezone": "Europe/London"},
        201,
    )
    page.goto("/all")
    page.get_by_role("button", name="Team sync", exact=True).click()
    panel = page.get_by_role("dialog", name="Task details")
    expect(panel).to_be_visible()
    occurrences = panel.get_by_role("list", name="Next occurrences").locator("time")
    expect(panel.get_by_role("heading", name="Next occurrences")).to_be_hidden()
    # A preset: five Mondays at 09:00 in London, across the change to summer time.
    panel.get_by_label("Repeat", exact=True).select_option("weekly")
    expect(occurrences).to_have_count(5)
    weekly = ["2030-03-18T09:00:00Z", "2030-03-25T09:00:00Z", "2030-04-01T08:00:00Z", "2030-04-08T08:00:00Z", "2030-04-15T08:00:00Z"]
    assert occurrences.evaluate_all("times => times.map((time) => time.getAttribute('datetime'))") == weekly
    # A custom rule, typed: its dates follow as it is typed.
    panel.get_by_label("Repeat", exact=True).select_option("custom")
    rule = panel.get_by_label("Rule")
    rule.fill("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=3")
    expect(occurrences).to_have_count(3)
    expect(occurrences.nth(1)).to_have_attribute("datetime", "2030-03-21T09:00:00Z")
    browser_message = panel.get_by_text("This rule cannot be saved")
    expect(browser_message).to_have_count(0)
    # A bad rule says why at once, and shows no dates.
    rule.fill("FREQ=SOMETIMES")
    expect(browser_message).to_be_visible()
    expect(rule).to_have_attribute("aria-invalid", "true")
    expect(occurrences).to_have_count(0)
    rule.fill("FREQ=DAILY;INTERVAL=2")
    expect(browser_message).to_have_count(0)
    expect(occurrences).to_have_count(5)
    expect(occurrences.nth(1)).to_have_attribute("datetime", "2030-03-20T09:00:00Z")
    # Without a due date a rule cannot be saved either.
    panel.get_by_label("Due date").fill("")
    expect(panel.get_by_text("A repeating task needs a due date.")).to_be_visible()
    expect(occurrences).to_have_count(0)
    panel.get_by_role("button", name="Close").click()
    expect(panel).to_be_hidden()
    stored = api.task_titled("Team sync")
    assert stored["recurrence"] is None and stored["due_at"] == "2030-03-18T09:00:00Z", stored


def check_undo(page: Page, api: Api):
    """Reopening a completed task and deleting a task are each undone from their toast."""
    fern = api.call("POST", "/api/v1/tasks", {"title": "Water the fern"}, 201)
    api.call("POST", f"/api/v1/tasks/{fern['id']}/complete", expect_status=200)
    api.call("POST", "/api/v1/tasks", {"title": "Old receipt"}, 201)
    # Reopen from the Completed view, then Undo: done again.
    page.goto("/completed")
    box = page.get_by_role("checkbox", name="Complete: Water the fern")
    expect(box).to_be_checked()
    box.click()  # the row leaves the list once reopened: click, not uncheck (which reads it after)
    undo = undo_toast(page, "Reopened “Water the fern”")
    api.eventually(lambda: api.task_titled("Water the fern")["status"] == "todo", "the fern reopened")
    undo.click()
    api.eventually(lambda: api.task_titled("Water the fern")["status"] == "done", "the reopening undone")
    expect(page.get_by_role("checkbox", name="Complete: Water the fern")).to_be_checked()
    # Delete from the task panel, then Undo: the task is back and is never deleted, not even
    # when the page is left (which sends a deletion still waiting on its undo window).
    page.goto("/all")
    page.get_by_role("button", name="Old receipt", exact=True).click()
    panel = page.get_by_role("dialog", name="Task details")
    panel.get_by_role("button", name="Delete", exact=True).click()
    expect(panel).to_be_hidden()
    undo = undo_toast(page, "Deleted “Old receipt”")
    expect(task_item(page, "Old receipt")).to_have_count(0)
    undo.click()
    expect(task_item(page, "Old receipt")).to_be_visible()
    page.reload()
    expect(task_item(page, "Old receipt")).to_be_visible()
    assert api.task_titled("Old receipt")["status"] == "todo"


def check_sort(page: Page, api: Api):
    """The list follows the chosen sort, kept in the address."""
    for title, priority in (("Bravo", "low"), ("Alpha", "none"), ("Charlie", "urgent")):
        api.call("POST", "/api/v1/tasks", {"title": title, "priority": priority}, 201)
    wanted = ["Alpha", "Bravo", "Charlie"]
    page.goto("/all")
    expect(task_item(page, "Charlie")).to_be_visible()
    page.get_by_label("Sort").select_option("title")
    expect(page).to_have_url(re.compile(r"sort=title"))
    titles_in_order(page, wanted, ["Alpha", "Bravo", "Charlie"])
    page.get_by_label("Sort").select_option("-priority,due_at")
    expect(page).to_have_url(re.compile(r"sort=-priority"))
    titles_in_order(page, wanted, ["Charlie", "Bravo", "Alpha"])
    page.reload()
    expect(page.get_by_label("Sort")).to_have_value("-priority,due_at")
    titles_in_order(page, wanted, ["Charlie", "Bravo", "Alpha"])


def check_more_screens(browser: Browser, page: Page, api: Api):
    """Upcoming and search results, checked by axe."""
    later = (datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    api.call("POST", "/api/v1/tasks", {"title": "Renew the passport", "due_at": later}, 201)
    page.goto("/upcoming")
    expect(page.get_by_role("heading", name="Upcoming", level=1)).to_be_visible()
    expect(task_item(page, "Renew the passport")).to_be_visible()
    browser.check_accessibility(page, "upcoming")
    search = page.get_by_role("searchbox", name="Search tasks")
    search.fill("passport")
    expect(page).to_have_url(re.compile(r"/search\?q=passport"))
    expect(task_item(page, "Renew the passport")).to_be_visible()
    expect(task_item(page, "Alpha")).to_have_count(0)
    browser.check_accessibility(page, "search results")


def check_settings(browser: Browser, page: Page, api: Api, email):
    """Time zone, a channel disabled and enabled, a webhook secret rotated, a token revoked, and
    signing out everywhere, which signs out another browser too."""
    page.goto("/settings")
    account = page.get_by_role("region", name="Account")
    account.get_by_label("Your time zone").select_option("Europe/Paris")
    account.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Profile saved")).to_be_visible()
    api.eventually(lambda: api.call("GET", "/api/v1/me", expect_status=200)["timezone"] == "Europe/Paris", "time zone saved")

    # A webhook: disabled, enabled again, its secret rotated.
    hook = "https://hooks.example.org/manage"
    page.get_by_label("Webhook URL").fill(hook)
    page.get_by_role("button", name="Add webhook").click()
    first = shown_once_secret(page, "whsec_")
    expect(first).to_be_visible()
    first_secret = first.inner_text()
    # The label is "Enabled" and, for screen readers, the channel's address.
    enabled = page.get_by_role("checkbox", name=hook)
    expect(enabled).to_be_checked()

    def webhook_enabled():
        channels = api.call("GET", "/api/v1/notification-channels", expect_status=200)
        return [channel["enabled"] for channel in channels if channel.get("url") == hook]

    enabled.click()  # the list is rebuilt after each change: click, then wait on the state
    api.eventually(lambda: webhook_enabled() == [False], "the webhook disabled")
    expect(enabled).not_to_be_checked()
    enabled.click()
    api.eventually(lambda: webhook_enabled() == [True], "the webhook enabled again")
    expect(enabled).to_be_checked()
    page.get_by_role("button", name=f"Rotate secret: {hook}").click()
    expect(shown_once_secret(page, "whsec_")).not_to_have_text(first_secret)
    expect(shown_once_secret(page, "whsec_")).to_have_count(1)

    # A token: created, working, revoked, refused.
    page.get_by_label("Token name").fill("backup job")
    page.get_by_role("button", name="Create token").click()
    secret = shown_once_secret(page, "tkl_")
    expect(secret).to_be_visible()
    script = Api(api.base, secret.inner_text().strip())
    script.call("GET", "/api/v1/me", expect_status=200)
    page.get_by_role("button", name="Revoke: backup job").click()
    expect(page.get_by_role("button", name="Revoke: backup job")).to_have_count(0)
    api.eventually(lambda: refused(script), "the revoked token refused")

    # Sign out everywhere: this browser and another one are both signed out.
    other_context = browser.context()
    other = browser.page(other_context)
    sign_in(other, email)
    other.goto("/all")
    expect(task_item(other, "Alpha")).to_be_visible()
    page.get_by_role("button", name="Sign out everywhere").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    # The other browser still holds its cookies; the server no longer takes them.
    other.goto("/upcoming")
    expect(other.get_by_role("button", name="Sign in")).to_be_visible()
    expect(other.get_by_role("textbox", name="Add a task")).to_have_count(0)
    api.eventually(lambda: refused(api), "the script's session ended too")
    other_context.close()


def scenario_manage(browser: Browser, base):
    """The recurrence preview in the task panel, undo of reopen and delete, sorting, settings
    (time zone, channels, secrets, tokens, sign out everywhere), and axe on the sign-in screen,
    Upcoming and search results."""
    api = Api(base)
    context = browser.context()
    page = browser.page(context)
    page.goto("/signin")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    browser.check_accessibility(page, "sign-in")
    email = "manage@example.org"
    sign_up(page, email)
    api.login(email)
    check_recurrence_preview(page, api)
    check_undo(page, api)
    check_sort(page, api)
    check_more_screens(browser, page, api)
    check_settings(browser, page, api, email)
    context.close()


VERIFICATION_SUBJECT = "Confirm your address for tickler reminders"


def mailed_code(mail_file, address, nth, seconds=20):
    """The code in the `nth` (from 1) verification mail to `address` that the SMTP server
    accepted (smtp_sink.py appends one JSON line per message); waits for it to arrive."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with open(mail_file, encoding="utf-8") as received:
                lines = received.read().split("\n")[:-1]  # a line without its newline is still being written
        except FileNotFoundError:
            lines = []
        mails = [
            mail
            for mail in map(json.loads, lines)
            if mail["rcpt_tos"] == [address] and mail["subject"] == VERIFICATION_SUBJECT
        ]
        if len(mails) >= nth:
            text = mails[nth - 1]["parts"][0]["text"]
            codes = re.findall(r"(?<!\d)\d{8}(?!\d)", text)
            assert codes, f"no 8-digit code in the mail to {address}: {text!r}"
            return codes[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no verification mail #{nth} to {address} within {seconds} s: {len(mails)} arrived")
        time.sleep(0.1)


def email_channel(api, address):
    channels = [c for c in api.call("GET", "/api/v1/notification-channels", expect_status=200) if c.get("address") == address]
    assert len(channels) == 1, f"channels for {address}: {channels}"
    return channels[0]


def channel_row(page: Page, address):
    return page.get_by_role("list").get_by_role("listitem").filter(has_text=address)


def code_field_name(address):
    """The code field's accessible name: its visible label and, hidden, the address. Chromium
    puts a space between the label's text and the hidden part, so the colon may stand apart."""
    return re.compile(r"^Code from the e-mail\s*:\s*" + re.escape(address) + "$")


def wrong_code_for(code):
    return "11111111" if code == "00000000" else "00000000"


def scenario_email(browser: Browser, base, mail):
    """An e-mail channel: added in Settings and shown pending, a wrong code refused beside the
    field, the mailed code accepted and the address shown verified; a code used up by wrong
    guesses asks for a new one, which is mailed and works. axe checks each state."""
    assert mail, "the email scenario needs --mail (the SMTP server's record of accepted mail)"
    api = Api(base)
    context = browser.context()
    page = browser.page(context)
    sign_up(page, "grace@example.org")
    api.login("grace@example.org")
    page.goto("/settings")

    # Added in the browser: pending, with the field for the mailed code.
    address = "reminders@example.org"
    page.get_by_label("E-mail address").fill(address)
    page.get_by_role("button", name="Add e-mail").click()
    row = channel_row(page, address)
    expect(row).to_contain_text("E-mail · Waiting for the code mailed to this address")
    code_box = row.get_by_role("textbox", name=code_field_name(address))
    expect(code_box).to_be_visible()
    assert email_channel(api, address)["verification"] == "pending"
    browser.check_accessibility(page, "e-mail channel pending")
    code = mailed_code(mail, address, 1)

    # A wrong code: refused beside the field, announced, the address still pending.
    code_box.fill(wrong_code_for(code))
    row.get_by_role("button", name="Verify", exact=True).click()
    expect(row.get_by_role("alert")).to_have_text("That is not the code we mailed. Check it and try again.")
    expect(code_box).to_have_attribute("aria-invalid", "true")
    expect(code_box).to_be_focused()
    expect(row).to_contain_text("Waiting for the code mailed to this address")
    assert email_channel(api, address)["verification"] == "pending"
    browser.check_accessibility(page, "e-mail code refused")

    # The mailed code, typed in two groups as people do: verified.
    code_box.fill(f"{code[:4]} {code[4:]}")
    row.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_role("status").filter(has_text=f"{address} is verified")).to_be_visible()
    expect(row).to_contain_text("E-mail · Verified")
    expect(row).not_to_contain_text("Waiting for the code")
    expect(row.get_by_role("textbox")).to_have_count(0)
    assert email_channel(api, address)["verification"] == "verified"
    browser.check_accessibility(page, "e-mail channel verified")

    # A code used up by wrong guesses (five through the API, the sixth in the form) asks for a
    # new one; the new code is mailed and verifies the address.
    second = "backup@example.org"
    page.get_by_label("E-mail address").fill(second)
    page.get_by_role("button", name="Add e-mail").click()
    row = channel_row(page, second)
    code_box = row.get_by_role("textbox", name=code_field_name(second))
    expect(code_box).to_be_visible()
    first_code = mailed_code(mail, second, 1)
    channel_id = email_channel(api, second)["id"]
    for _ in range(5):
        api.call("POST", f"/api/v1/notification-channels/{channel_id}/verify", {"code": wrong_code_for(first_code)}, 422)
    code_box.fill(first_code)
    row.get_by_role("button", name="Verify", exact=True).click()
    expect(row.get_by_role("alert")).to_have_text("This code has expired or was entered wrongly too many times. Send a new code.")
    assert email_channel(api, second)["verification"] == "pending"
    browser.check_accessibility(page, "e-mail code used up")
    row.get_by_role("button", name=f"Send a new code: {second}").click()
    expect(page.get_by_role("status").filter(has_text="A new code is on its way.")).to_be_visible()
    expect(row.get_by_role("alert", include_hidden=True)).to_have_text("")
    expect(code_box).not_to_have_attribute("aria-invalid", "true")
    new_code = mailed_code(mail, second, 2)
    code_box.fill(new_code)
    row.get_by_role("button", name="Verify", exact=True).click()
    expect(row).to_contain_text("E-mail · Verified")
    assert email_channel(api, second)["verification"] == "verified"
    context.close()


SCENARIOS = {
    "tasks": scenario_tasks,
    "chat": scenario_chat,
    "live": scenario_live,
    "email": scenario_email,
    "manage": scenario_manage,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--base", required=True)
    parser.add_argument("--screenshots")
    parser.add_argument("--mail", help="the SMTP server's record of accepted mail (scenario email)")
    arguments = parser.parse_args()
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = Browser(playwright, arguments.base, arguments.screenshots)
        try:
            extra = {"mail": arguments.mail} if arguments.scenario == "email" else {}
            SCENARIOS[arguments.scenario](browser, arguments.base, **extra)
        finally:
            browser.close()
    print(f"scenario {arguments.scenario} passed in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
