"""The browser and system a session's user agent names, for the sessions list and the
activity log (``Firefox 133 · Linux``)."""

from __future__ import annotations


def describe_agent(user_agent: str) -> str:
    """The browser and system a user agent names (``Firefox 133 on Linux``); ``""`` when it
    names none.  A small parser of the common browsers (no dependency, no regex database):
    the order matters, as Edge and Opera also say Chrome and every Chrome says Safari."""
    ua = user_agent or ""
    browser = ""
    for token, name in (
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ):
        at = ua.find(token)
        if at >= 0 and (name != "Safari" or "Safari/" in ua):
            version = ua[at + len(token) :].split(".", 1)[0].split(" ", 1)[0]
            browser = f"{name} {version}" if version.isdigit() else name
            break
    if not browser and ua.startswith("curl/"):
        browser = "curl"
    system = ""
    for token, name in (
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ):
        if token in ua:
            system = name
            break
    if browser and system:
        return f"{browser} · {system}"
    return browser or system
